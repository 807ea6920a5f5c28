"""What the hostile-input, serving and fault tests try (issue 12, items 1-9 and the loader fuzzing), as data.

``CASES`` lists (defect class, test, what is tried); ``FUZZ_EXAMPLES`` holds the number of
property-based examples each loader is fuzzed with: ``tests/hardening/test_fuzz_loaders.py`` reads
it, so the counts here are the counts that run. docs/reliability.md builds its generated tables from
these and :mod:`testing.threat_model`; ``python -m testing.threat_model`` prints them all as JSON.
"""

from __future__ import annotations

__all__ = ["CASES", "SERVING_AND_FAULT_CASES", "FUZZ_EXAMPLES", "FUZZ_DEADLINE_SECONDS", "HARDENING", "tests_of"]

FUZZ_DEADLINE_SECONDS = 3.0
"""Longest one fuzz example may take (hypothesis' per-example deadline)."""

FUZZ_EXAMPLES: dict[str, int] = {
    "manifest.json": 80,
    "trailers.parquet": 40,
    "index and feature .npy": 80,
    "embeddings .npz": 80,
    "uploads": 60,
    "meta.pkl": 150,
    "checkpoints": 40,
    "video containers": 60,
}
"""Loader -> examples per fuzz test (arbitrary bytes and mutations of a valid file, half each)."""

HARDENING = _H = "tests/hardening/"
CASES: list[tuple[str, str, str]] = [
    ("concurrent writers", _H + "test_hostile_import.py::test_a_second_import_into_the_same_out_is_refused_naming_the_holder",
     "two import-mmx runs into one --out: the second is refused naming the holder, the first completes, no .partial left"),
    ("concurrent writers", _H + "test_hostile_import.py::test_an_import_into_an_existing_set_touches_nothing",
     "an import into a finished set is refused before anything is created"),
    ("concurrent writers", _H + "test_hostile_import.py::test_clicking_import_twice_queues_one_job",
     "the same import job submitted twice: the second submit is refused"),
    ("pickle bombs", _H + "test_hostile_files.py::test_the_shared_nested_list_bomb_is_refused_within_a_second",
     "a meta.pkl of 40-way shared lists 8 deep: refused by the node budget in under 1 s"),
    ("pickle bombs", _H + "test_hostile_files.py::test_the_importer_reports_the_bomb_and_goes_on",
     "the same bomb inside an import: reported, the other trailers imported"),
    ("pickle bombs", _H + "test_hostile_files.py::test_a_large_or_deep_meta_pkl_is_refused_and_messages_stay_short",
     "an oversized and a 30-deep meta.pkl; messages through reprlib"),
    ("archive bombs", _H + "test_hostile_files.py::test_an_upload_is_limited_by_its_expanded_size_not_its_compressed_bytes",
     "an upload of a few KB compressed that expands past the limit"),
    ("crafted headers", _H + "test_hostile_files.py::test_a_member_claiming_petabytes_is_refused_before_loading",
     "an .npz member whose .npy header claims 10^14 x 16 float64, as upload, file and CLI input"),
    ("crafted headers", _H + "test_hostile_files.py::test_a_npy_header_claiming_petabytes_is_one_line_not_memory_error",
     "an index .npy claiming 10^15 entries: validate, store and embed answer in one line"),
    ("special files", _H + "test_hostile_files.py::test_a_fifo_in_place_of_a_data_file_does_not_hang_validate_or_embed",
     "a FIFO in place of features.npy, an index, trailers.parquet or manifest.json"),
    ("special files", _H + "test_hostile_files.py::test_fifos_among_the_authors_files_are_reported_not_waited_for",
     "a FIFO in place of a meta.pkl and of a .pt tensor during import"),
    ("special files", _H + "test_hostile_files.py::test_a_fifo_as_embeddings_file_or_checkpoint_is_refused",
     "a FIFO as embeddings file and as checkpoint"),
    ("tensor shapes", _H + "test_hostile_import.py::test_a_three_dimensional_tensor_is_refused_not_taken_as_frames",
     "a (2, 3, D) tensor: refused, not read as 6 frames"),
    ("control characters", _H + "test_hostile_import.py::test_control_characters_are_escaped_in_messages_and_the_import_report",
     "a trailer folder named with a clear-screen escape: escaped in output, report and MMXError"),
    ("control characters", _H + "test_hostile_import.py::test_validate_reports_ids_and_titles_with_control_characters",
     "ids and titles holding escapes and carriage returns: validate reports them"),
    ("exit codes", _H + "test_hostile_import.py::test_skipped_input_exits_non_zero_after_keeping_what_it_could",
     "an import with an unreadable and a misshapen tensor exits 1 with a one-line summary, the set is kept"),
    ("exit codes", _H + "test_hostile_import.py::test_allow_skips_accepts_partial_results_and_strict_is_a_no_op",
     "--allow-skips exits 0; the old --strict is accepted"),
    ("option ranges", _H + "test_hostile_args.py::test_every_numeric_option_of_every_command_is_range_checked",
     "every numeric option of every command has a range-checked type"),
    ("option ranges", _H + "test_hostile_args.py::test_out_of_range_values_end_in_one_line_naming_the_option",
     "every numeric option given -99999999999, nan, 1e400 and text"),
    ("option ranges", _H + "test_hostile_args.py::test_the_issue_s_options",
     "embed --batch-size 0, train --seed -1, --threads -1, --dropout 1"),
    ("mismatched weights", _H + "test_hostile_args.py::test_init_with_weights_that_do_not_fit_is_one_line",
     "train --init and embed --model with a tensor of the wrong shape"),
    ("names", _H + "test_hostile_args.py::test_names_ending_in_a_newline_are_refused_by_the_one_name_pattern",
     "upload and run names ending in a newline"),
    ("runs and the job queue", _H + "test_runs.py::test_a_malformed_job_file_is_shown_as_broken_and_the_queue_goes_on",
     "a job.json that is not JSON: listed as broken, the next queued run still starts and finishes"),
    ("runs and the job queue", _H + "test_runs.py::test_cancel_acts_only_on_queued_or_running_jobs",
     "cancel on a finished run: refused, its status.json unchanged"),
    ("runs and the job queue", _H + "test_runs.py::test_a_reused_pid_is_neither_trusted_nor_signalled",
     "a run whose recorded pid now belongs to another process: not alive, not cancellable, not blocking the queue, "
     "never signalled"),
    ("runs and the job queue", _H + "test_runs.py::test_resume_without_a_last_checkpoint_is_refused_and_best_is_kept",
     "train --resume without last.pt: refused naming the file, best.pt untouched"),
    ("runs and the job queue", _H + "test_runs.py::test_a_second_writer_of_a_run_folder_is_refused_with_the_holders_name",
     "a second train into a run folder being written: refused naming the holder, nothing written"),
    ("runs and the job queue", _H + "test_runs.py::test_a_refused_train_into_a_finished_run_touches_nothing",
     "train without --resume into a finished run: refused, every file of the run unchanged"),
    ("spreadsheet export", _H + "test_export.py::test_formula_like_text_gets_an_apostrophe",
     "cells starting with =, +, -, @, tab or CR in the CSV export get an apostrophe"),
    ("spreadsheet export", _H + "test_export.py::test_plain_text_numbers_and_negative_numbers_are_unchanged",
     "plain titles, numbers and negative numbers are written as they are"),
]
FUZZ_TESTS = {"manifest.json": "manifest", "trailers.parquet": "trailer_table", "index and feature .npy": "npy",
              "embeddings .npz": "embeddings", "uploads": "uploads", "meta.pkl": "meta_pkl", "checkpoints": "checkpoints"}
"""Loader -> ``test_fuzz_<name>`` in test_fuzz_loaders.py (video containers have a file of their own)."""
CASES += [("loader fuzzing", _H + f"test_fuzz_loaders.py::test_fuzz_{name}",
           f"{FUZZ_EXAMPLES[loader]} examples of arbitrary bytes and mutated valid files")
          for loader, name in FUZZ_TESTS.items()]

SERVING_AND_FAULT_CASES: list[tuple[str, str, str]] = [
    ("serving beyond localhost", _H + "test_serving.py::test_beyond_localhost_without_a_password_every_page_refuses",
     "every page on 0.0.0.0 with no password or OIDC configured: one refusal, no widget, no data"),
    ("serving beyond localhost", _H + "test_serving.py::test_beyond_localhost_the_password_is_asked_first",
     "a wrong password, then the right one ([auth] password in secrets)"),
    ("serving beyond localhost", _H + "test_serving.py::test_the_password_may_come_from_the_environment",
     "MMX_PASSWORD on a LAN address"),
    ("serving beyond localhost", _H + "test_serving.py::test_on_loopback_nothing_is_asked",
     "127.0.0.1: the page renders with no sign-in"),
    ("serving beyond localhost", _H + "test_serving.py::test_loopback_addresses",
     "which addresses count as loopback (empty: every interface)"),
    ("folders outside the roots", _H + "test_serving.py::test_inputs_are_read_only_under_the_allowed_roots",
     "/etc, '..', a symbolic link out of the data folder: refused by check_folder, import and extraction requests"),
    ("error details and upload size", _H + "test_serving.py::test_server_settings_hide_errors_and_match_the_upload_limit",
     "showErrorDetails is 'none'; maxUploadSize equals the library's upload limit"),
    ("kill -9", _H + "test_faults.py::test_import_killed_anywhere_then_rerun_equals_an_unbroken_import",
     "import-mmx killed at seeded points, run again: same bytes as an unbroken import"),
    ("kill -9", _H + "test_faults.py::test_train_killed_anywhere_then_resumed_equals_an_unbroken_run",
     "train killed at seeded points, resumed: same weights as an unbroken run"),
    ("kill -9", _H + "test_faults.py::test_precompute_killed_anywhere_then_rerun_equals_an_unbroken_run",
     "precompute killed, run again: same cache entries, none half-written"),
    ("kill -9", _H + "test_faults.py::test_extract_killed_anywhere_then_resumed_equals_an_unbroken_run",
     "extract killed at seeded points, resumed: same features as an unbroken run"),
    ("full disk", _H + "test_faults.py::test_import_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_set",
     "import-mmx --overwrite under a file-size limit"),
    ("full disk", _H + "test_faults.py::test_train_on_a_full_disk_fails_in_one_line_and_keeps_the_checkpoints",
     "train --resume under a file-size limit"),
    ("full disk", _H + "test_faults.py::test_precompute_on_a_full_disk_fails_in_one_line_and_keeps_the_cache",
     "precompute of a larger set into a filled cache under a file-size limit"),
    ("full disk", _H + "test_faults.py::test_extract_on_a_full_disk_fails_in_one_line_and_keeps_the_previous_set",
     "extract --overwrite under a file-size limit"),
    ("damaged cache", _H + "test_faults.py::test_a_truncated_or_unrecorded_cache_entry_is_computed_again",
     "a cache entry cut in half, one byte changed, its JSON missing: computed again"),
    ("damaged cache", _H + "test_faults.py::test_two_writers_of_one_cache_entry_compute_it_once",
     "three writers of one cache entry at once: computed once"),
]


def tests_of(*classes: str) -> tuple[str, ...]:
    """The tests of the cases (hostile input, serving and faults) in the defect classes ``classes``."""
    return tuple(test for c, test, _ in CASES + SERVING_AND_FAULT_CASES if c in classes)

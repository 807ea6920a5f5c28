"""The threat model of docs/reliability.md: each surface, its risk, the rule that stops it and the tests that show it.

``python -m testing.threat_model`` prints the threats, the cases and the fuzz counts
(:mod:`testing.reliability_cases`) as JSON.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from testing.reliability_cases import CASES, FUZZ_DEADLINE_SECONDS, FUZZ_EXAMPLES, HARDENING as _H, tests_of

__all__ = ["THREATS", "Threat", "cases", "test_files"]


@dataclass(frozen=True)
class Threat:
    """One surface of the threat model: what can go wrong there, the rule that stops it, the tests that show it.

    ``tests`` empty means the surface is open (``guard`` then says which issue takes it).
    """

    surface: str
    risk: str
    guard: str
    tests: tuple[str, ...] = ()


_T = "tests/"
_E = "tests/extract/test_media_budget.py::"
_O = _H + "test_outputs.py::"
_J = _H + "test_job_queue.py::"
_P = "tests/serving/test_proxy.py::"
THREATS: list[Threat] = [
    Threat("terminal output of every command",
           "a file name, title or library message holding an ANSI escape, a carriage return or a newline redraws "
           "the terminal or forges a line (an `error:` or `extracted 12 of 12`)",
           "`mmx_core.base.console.escaped_output`, installed by the CLI around every command: stdout, stderr and "
           "every log record escaped whole, one final line break kept",
           (_T + "test_console.py::test_printed_names_and_log_records_are_escaped_whole",
            _T + "test_console.py::test_a_command_run_as_a_process_prints_a_hostile_out_name_on_one_line",
            _E + "test_case7_names_with_escapes_and_newlines_are_escaped_in_every_line",
            _E + "test_case7_the_report_escapes_file_names_and_reasons")),
    Threat("every command that writes (--out, --name, --work, --save-predictions, make-models' folders) and "
           "the app's uploads",
           "an unset shell variable (`--out \"\"`), a root folder, the input itself or a folder holding it is "
           "replaced with `--overwrite`; a foreign file or folder is deleted; two runs into one target delete each "
           "other's work; a failed run leaves its work folder behind",
           "`mmx_core.base.outputs`: every output option is tagged with its kind and checked before any work "
           "(resolved; refused when empty, a root, an input or related to one, or not written by the project, "
           "which a marker of the kind shows); `--overwrite` writes beside and swaps when complete; one writer "
           "lock per target held for the whole run",
           tuple(_O + name for name in (
               "test_every_command_refuses_every_dangerous_target_and_touches_nothing",
               "test_walk_knows_every_output_option",
               "test_case1_synth_into_an_empty_out_with_overwrite_keeps_the_data_folder",
               "test_case1_extract_into_its_own_video_folder_keeps_the_videos",
               "test_overwrite_replaces_only_what_the_project_wrote",
               "test_a_kind_may_own_a_root_and_a_sidecar_is_checked_too",
               "test_overwrite_of_a_set_keeps_the_old_one_until_the_new_is_complete",
               "test_case2_a_second_extract_into_one_out_is_refused_naming_the_first",
               "test_a_second_synth_into_one_out_is_refused_naming_the_first",
               "test_a_second_train_into_one_run_is_refused_naming_the_first",
               "test_case8_every_video_failing_exits_1_and_leaves_no_work_folder",
               "test_refusal_messages_are_one_line_and_name_the_option")) +
           tests_of("concurrent writers")),
    Threat("video files given to extract",
           "a tiny file declaring hours (or one frame at 10 h) plans thousands of clips and holds the worker; a "
           "truncated or damaged file is stored as a shorter video without a word; a symbolic link reads a file "
           "outside the folder",
           "`mmx_core.extract.budget.MediaBudget` inside decoding (duration, timestamp jumps, frame size, frames, "
           "clips; checked on the header, on every frame of the first pass and before planning); truncation and "
           "decode errors are failures unless `--allow-partial`, which the manifest records; links leaving their "
           "folder are refused",
           (_E + "test_case4_a_frame_at_ten_hours_is_refused_before_planning_in_bounded_time",
            _E + "test_case4_each_limit_refuses_before_any_clip_is_planned",
            _E + "test_case4_a_budget_is_validated_once_in_one_line_naming_the_parameter",
            _E + "test_case4_the_defaults_are_shown_by_help_and_in_the_docs",
            _E + "test_case5_truncated_mkv_and_faststart_mp4_are_failures",
            _E + "test_case5_allow_partial_keeps_what_decoded_and_says_so",
            _E + "test_case5_a_stream_that_stops_on_an_error_is_a_failure_unless_partial",
            _E + "test_case9_a_link_out_of_the_folder_is_refused_not_followed",
            _E + "test_case9_links_given_directly_are_checked_against_their_own_folder",
            _H + "test_fuzz_video.py::test_random_containers_give_a_bounded_plan_or_one_reported_line")),
    Threat("metadata tables given to extract (--meta)",
           "a year of `2001.5`, `1e30` or 20 digits ends in a pandas traceback; rows that match no video, or two "
           "differently written keys for one video, pass in silence",
           "`mmx_core.extract.meta`: one parser per column, a bad value is one line naming file, row, column and "
           "value; unmatched and doubly matched rows warn, and `--strict` refuses them before anything is written",
           (_E + "test_case6_a_bad_year_is_one_line_naming_file_row_column_and_value",
            _E + "test_case6_whole_years_lists_and_parquet_values_are_read",
            _E + "test_case6_unmatched_and_doubly_matched_rows_warn_and_strict_refuses",
            _E + "test_case6_strict_cli_refuses_before_writing")),
    Threat("job files of the background queue",
           "one job.json with wrong types, or a queued job whose data set was deleted, makes every dispatch and "
           "listing raise, so no job runs and the pages show an error; ten thousand jobs make every page run read "
           "them all",
           "`mmx_core.jobs.records`: job files read through one schema (a malformed one is listed as broken with a "
           "Remove button); inputs checked again at dispatch (a vanished one fails that job with the reason); "
           "dispatch and the supervisor handle each job on its own and never raise; the list is paged, filtered "
           "and cached by folder time; removal deletes only a job's own files",
           tuple(_J + name for name in (
               "test_a_malformed_job_is_listed_broken_removable_and_the_next_job_runs",
               "test_malformed_status_and_hostile_job_files_are_broken_too",
               "test_a_queued_job_whose_input_vanished_fails_with_the_reason_and_the_next_runs",
               "test_dispatch_never_raises_and_records_the_failure_on_the_job",
               "test_the_supervisor_starts_the_next_job_when_its_own_job_file_is_ruined",
               "test_remove_keeps_results_and_refuses_links_and_live_jobs",
               "test_clear_ended_removes_only_folders_without_results",
               "test_the_list_is_paged_newest_first_and_filtered",
               "test_the_listing_reads_only_changed_folders")) +
           ("tests/app/test_jobs.py::test_a_broken_job_is_shown_with_its_reason_and_a_remove_button",
            "tests/app/test_jobs.py::test_the_train_page_shows_one_page_newest_first_and_filters",
            "tests/app/test_jobs.py::test_clear_ended_on_the_train_page_keeps_runs_with_checkpoints") +
           tests_of("runs and the job queue")),
    Threat("exit codes of every command",
           "a command that skipped or refused inputs exits 0 and a script takes a partial result as whole",
           "`mmx_core.base.errors.ExitCode` (one table, docs/interfaces.md); the CLI maps errors onto it and "
           "refuses a code outside it",
           (_T + "test_console.py::test_errors_map_onto_the_exit_code_table_in_one_line",
            _T + "test_console.py::test_a_command_returning_a_code_outside_the_table_is_a_bug_not_a_silent_exit")),
    Threat("data files the loaders read (manifests, tables, arrays, archives, pickles, checkpoints, uploads)",
           "a crafted header or archive claims petabytes, a pickle bomb or a FIFO hangs or exhausts the server, "
           "an object array runs code",
           "`mmx_core.base.safeio` (regular files only, headers checked against the file and a byte limit before "
           "any allocation, no pickle), node budgets on the authors' meta.pkl",
           tests_of("pickle bombs", "archive bombs", "crafted headers", "special files", "loader fuzzing")),
    Threat("kills and a full disk during any writer",
           "a writer killed with SIGKILL or stopped by a full disk leaves a half-written set, checkpoint or cache "
           "entry that is later read as whole",
           "write beside, rename last (`mmx_core.base.artefacts`, `mmx_core.data.staging`); writers resume from "
           "their last committed point; cache entries carry their size and hash",
           tests_of("kill -9", "full disk", "damaged cache")),
    Threat("the served app: its pages",
           "a visitor from another machine uses the app without a password, or reads a folder of the server",
           "sign-in in every page beyond loopback (`mmx_core.appkit.access`); inputs only under the allowed roots "
           "(`mmx_core.base.paths.check_under_roots`); no error details",
           tests_of("serving beyond localhost", "folders outside the roots", "error details and upload size")),
    Threat("the served app: Streamlit's own endpoints and the sign-in",
           "before sign-in, a stranger uploads to `/_stcore/upload_file`, opens the websocket, reads "
           "`/_stcore/metrics` or a `/media` URL, or tries passwords without limit; a table names a folder outside "
           "the roots and its video is served",
           "`make serve` (`mmx_core.serving`): nginx asks the sign-in service (`auth_request`) before every path "
           "but the sign-in itself; signed, expiring, HttpOnly cookie; growing delays per address after a few "
           "wrong passwords; metrics answer no one; the upload limit at the proxy; `make run` refuses any address "
           "but this machine's; files served only from under the roots (`paths.served_roots`)",
           tuple(_P + name for name in (
               "test_before_sign_in_nothing_of_the_app_answers",
               "test_signed_in_the_app_answers",
               "test_a_body_over_the_upload_limit_is_refused_before_it_is_sent",
               "test_wrong_passwords_meet_the_limit_then_the_right_one_waits_its_turn",
               "test_a_killed_worker_is_started_again_and_the_proxy_keeps_answering",
               "test_https_with_a_certificate_and_the_redirect_from_http",
               "test_the_stack_refuses_beyond_loopback_without_a_password")) +
           ("tests/serving/test_edge_auth.py::test_a_tampered_or_foreign_cookie_is_refused",
            "tests/serving/test_edge_auth.py::test_next_is_only_a_path_on_this_site",
            "tests/serving/test_edge_auth.py::test_the_table_of_addresses_is_bounded_and_forgets",
            "tests/serving/test_proxy_browser.py::"
            "test_two_browsers_sign_in_at_the_edge_then_click_a_trailer_see_neighbours_and_play_a_video",
            _H + "test_serving.py::test_the_app_serves_files_only_from_under_the_roots_whatever_a_table_names")),
    Threat("the annotation store of a set (names, tags, notes, saved views), shared by a lab",
           "two people writing at once lose a change; a process killed mid-write leaves half a change; one person "
           "undoes another's work; a name, tag or note with control characters or of a megabyte breaks pages and "
           "terminals; a file put in the store's place is overwritten or followed",
           "`mmx_core.annotations.store`: SQLite, one transaction per change (`BEGIN IMMEDIATE`, WAL, "
           "`synchronous=FULL`) with the state before it recorded for undo; the app undoes only the visitor's own "
           "latest change; names, tags and notes checked (length, no control characters); a file that is not a "
           "store or is a link is refused, never rewritten",
           tuple("tests/annotations/test_store.py::" + name for name in (
               "test_two_writers_at_once_lose_nothing",
               "test_kill_9_mid_write_leaves_every_change_whole",
               "test_merge_split_and_undo_walk_back_every_step",
               "test_undo_of_someone_elses_change_is_refused_when_asked",
               "test_names_tags_notes_and_views_round_trip",
               "test_a_file_that_is_not_a_store_is_refused_and_kept",
               "test_store_file_names_are_safe_for_every_set_name"))),
    Threat("annotation CSVs (imported in the app or by `annotations --import`, read by `train --tags`)",
           "a file of NUL bytes, another encoding, broken quoting or a million rows; rows naming trailers the set "
           "lacks; formula cells; a half-imported file",
           "`mmx_core.annotations.table`: a bad file is refused whole (one line, nothing changed); bad rows are "
           "reported one line each and skipped (exit 1), the rest imported as one change; cells written "
           "spreadsheet-safe and read back as typed; `train --tags` refuses a file with any bad row or unknown "
           "trailer before training",
           tuple("tests/annotations/test_annotations_cli.py::" + name for name in (
               "test_a_hostile_file_is_refused_whole_and_changes_nothing",
               "test_bad_rows_are_reported_one_line_each_and_skipped_with_exit_1",
               "test_an_import_of_nothing_usable_is_refused",
               "test_export_never_replaces_a_file_people_wrote",
               "test_export_then_import_elsewhere_carries_everything",
               "test_read_tags_refuses_a_file_with_any_bad_row"))),
    Threat("who made a change",
           "a visitor sends their own `X-MMX-User` header and writes under someone else's name",
           "`mmx_core.appkit.access.author_of`: the header is taken only on a server bound to this machine "
           "(behind the proxy of `make serve`, which replaces any visitor's header); OIDC gives the e-mail; a "
           "shared password names no one",
           (_H + "test_serving.py::test_the_author_of_a_change_is_trusted_only_from_the_sign_in_that_made_it",)),
    Threat("spreadsheet export",
           "a title starting with `=` runs as a formula in the scholar's spreadsheet",
           "`mmx_core.base.sheets`: formula-like cells get an apostrophe",
           tests_of("spreadsheet export")),
]


def test_files() -> list[str]:
    """Every test file a case or a threat names (the reliability benchmark runs them all)."""
    named = [t for _, t, _ in CASES] + [t for threat in THREATS for t in threat.tests]
    return sorted({t.split("::")[0] for t in named})


def cases() -> dict:
    """Everything above as one JSON-ready object."""
    return {"cases": [{"class": c, "test": t, "tried": w} for c, t, w in CASES],
            "threats": [{"surface": x.surface, "risk": x.risk, "guard": x.guard, "tests": list(x.tests)}
                        for x in THREATS],
            "fuzz_examples": dict(FUZZ_EXAMPLES), "fuzz_deadline_seconds": FUZZ_DEADLINE_SECONDS}


if __name__ == "__main__":
    print(json.dumps(cases(), indent=2))

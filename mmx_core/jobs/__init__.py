"""Background jobs: one queue and supervisor for every job kind.

Training, embedding, import of the authors' layout, the demo data set generator, the Evaluate
page's probe, precompute and video extraction all run as supervised jobs with a status, progress,
cancel (:mod:`.queue`) and a paged listing (:mod:`.listing`); each kind is a validated request that runs a documented CLI
command (:mod:`.kinds`); job files are read through one schema (:mod:`.records`), so a malformed one is
listed as broken and never stops the queue; :mod:`.cleanup` removes broken or ended jobs without losing
results; :mod:`.process` identifies and stops the processes it started; :mod:`.supervisor` runs one job.
"""

from mmx_core.jobs.cleanup import clear_ended, remove
from mmx_core.jobs.kinds import (KINDS, STAGES, EmbedRequest, ExtractRequest, GenerateRequest, ImportRequest,
                                 JobRequest, PrecomputeRequest, ProbeRequest, TrainRequest)
from mmx_core.jobs.listing import PAGE_SIZE, JobInfo, JobPage, find_job, list_jobs, page_jobs, read_events, tail_log
from mmx_core.jobs.queue import RESUMABLE, build_command, cancel, dispatch, resume, submit
from mmx_core.jobs.records import ACTIVE, BROKEN, ENDED, STATES

__all__ = ["KINDS", "STAGES", "RESUMABLE", "ACTIVE", "ENDED", "STATES", "BROKEN", "PAGE_SIZE", "JobRequest",
           "TrainRequest", "EmbedRequest", "ImportRequest", "GenerateRequest", "ProbeRequest", "PrecomputeRequest",
           "ExtractRequest", "JobInfo", "JobPage", "submit", "dispatch", "cancel", "resume", "remove", "clear_ended",
           "list_jobs", "page_jobs", "find_job", "read_events", "tail_log", "build_command"]

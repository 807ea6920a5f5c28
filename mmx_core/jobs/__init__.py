"""Background jobs: one queue and supervisor for every job kind.

Training, embedding, import of the authors' layout, the demo data set generator, the Evaluate
page's probe, precompute and video extraction all run as supervised jobs with a status, progress,
cancel and a listing (:mod:`.queue`); each kind is a validated request that runs a documented CLI
command (:mod:`.kinds`); :mod:`.process` identifies and stops the processes it started;
:mod:`.supervisor` runs one job.
"""

from mmx_core.jobs.kinds import (KINDS, STAGES, EmbedRequest, ExtractRequest, GenerateRequest, ImportRequest,
                                 JobRequest, PrecomputeRequest, ProbeRequest, TrainRequest)
from mmx_core.jobs.queue import (ACTIVE, JobInfo, build_command, cancel, dispatch, find_job, list_jobs, read_events,
                                 resume, submit, tail_log)

__all__ = ["KINDS", "STAGES", "ACTIVE", "JobRequest", "TrainRequest", "EmbedRequest", "ImportRequest",
           "GenerateRequest", "ProbeRequest", "PrecomputeRequest", "ExtractRequest", "JobInfo", "submit", "dispatch",
           "cancel", "resume", "list_jobs", "find_job", "read_events", "tail_log", "build_command"]

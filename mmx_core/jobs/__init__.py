"""Background jobs: one queue and supervisor for every job kind (training, embedding, import,
probe, precompute, generation, extraction), with status, progress, cancel and a listing."""

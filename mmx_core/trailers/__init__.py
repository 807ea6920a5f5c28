"""The trailer task's own vocabulary: the 20 genres, the paper's metrics, titles, the embeddings format and the published set."""

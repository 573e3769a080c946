"""The retrieval layer's exceptions: each message says what was expected, what was found, what to do."""


class RetrievalError(Exception):
    """Base of every error raised by the retrieval layer."""


class KnowledgeError(RetrievalError):
    """The knowledge folder is missing or has problems; `problems` lists each with file and line."""

    def __init__(self, message: str, problems: list | None = None):
        super().__init__(message)
        self.problems = list(problems or [])


class IndexMismatchError(RetrievalError):
    """A saved index does not fit the current settings or knowledge (rebuild it)."""


class ModelNotFoundError(RetrievalError):
    """A model folder named by the settings does not exist or is incomplete."""

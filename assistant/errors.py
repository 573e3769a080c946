"""The assistant's domain exceptions. The CLI and the HTTP API turn them into exit codes and statuses."""

from retrieval.errors import IndexMismatchError, KnowledgeError, ModelNotFoundError, RetrievalError

__all__ = ["AssistantError", "ConversationNotFound", "DrafterUnavailable", "EXPECTED_ERRORS", "IndexMismatchError", "InvalidInput",
           "KnowledgeError", "ModelMissing", "ModelNotFoundError", "RetrievalError", "StoreError"]


class AssistantError(Exception):
    """Base of the runtime's own errors."""


class ModelMissing(AssistantError):
    """No usable version of a model kind is active in the registry."""


class ConversationNotFound(AssistantError):
    """A conversation id that the store does not know."""


class InvalidInput(AssistantError):
    """A request the assistant cannot act on (a bad rating, a message id of another conversation)."""


class DrafterUnavailable(AssistantError):
    """The drafter did not answer in time (down, overloaded, busy, or its circuit breaker is open)."""


class StoreError(AssistantError):
    """The database could not be written or read (full disk, server gone); nothing was half-written."""


# Every error whose message tells a person what to do: the CLI, the API and the screens catch these and
# show the message; anything else is a bug and keeps its traceback.
EXPECTED_ERRORS = (AssistantError, RetrievalError)

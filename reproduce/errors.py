"""The one exception type for problems the user can fix (bad input, missing data).

The CLI prints its message as a single ``error:`` line and exits with code 2;
anything else is a bug and keeps its traceback.
"""


class ReproduceError(Exception):
    """A user-facing error: the message says what is wrong and what to do."""

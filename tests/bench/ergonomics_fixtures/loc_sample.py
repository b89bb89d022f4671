"""Module docstring: not code.

Its second line is not code either.
"""

# A comment line: not code.
import os  # code with a trailing comment: 1 line

CONSTANT = """a multi-line string that is not a docstring
counts every physical line
it spans"""


def function(a, b):
    """Function docstring: not code."""
    # comment
    total = a + b

    return total * 2


class Example:
    """Class docstring: not code."""

    value = os.sep

    def method(self):
        """Method docstring, on
        two lines."""
        return call(
            1,
            2,
        )


def call(*args):
    return args

"""Known type-hint coverage: 5 functions, 3 with a return annotation; 9 parameters (self/cls excluded), 5 annotated."""


def full(a: int, b: str) -> None:
    pass


def partial(a: int, b, *args: int, **kwargs) -> int:
    def nested(x):
        return x

    return nested(a)


class Thing:
    def method(self, value: float) -> float:
        return value

    @classmethod
    def build(cls, raw):
        return cls()


handler = lambda event: event  # noqa: E731 (lambdas cannot be annotated: not counted)

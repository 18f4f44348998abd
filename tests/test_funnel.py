from webweave.filters.decision import Drop, StageError
from webweave.pipelines.funnel import Funnel
from webweave.pipelines.stage_runner import StageChain, StageFailure


class Halve:
    name = "halve"

    def __call__(self, n):
        if n % 2:
            return Drop("odd")
        return n // 2


class Invert:
    name = "invert"

    def __call__(self, n):
        if n == 0:
            raise StageError("zero has no inverse", kind="zero")
        return 1 / n


def test_chain_counts_outputs_drops_and_errors_and_closes():
    funnel = Funnel()
    chain = StageChain([Halve(), Invert()], funnel)
    results = [chain.run(n) for n in [0, 1, 2, 3, 4]]
    assert results[1] == Drop("odd", stage="halve")  # the chain names the dropping stage
    assert results[0] == StageFailure("invert", "zero", "zero has no inverse")
    assert results[2] == 1.0 and results[4] == 0.5
    assert funnel.to_list() == [
        {"stage": "halve", "in": 5, "out": 3, "dropped": {"odd": 2}, "errors": 0},
        {"stage": "invert", "in": 3, "out": 2, "dropped": {}, "errors": 1},
    ]
    assert funnel.closure_problems(first_in=5, last_out=2) == []


def test_unexpected_exception_type_names_the_error():
    class Boom:
        name = "boom"

        def __call__(self, item):
            raise KeyError("x")

    funnel = Funnel()
    failure = StageChain([Boom()], funnel).run(1)
    assert failure.error_type == "KeyError"


def test_merge_and_closure_problems():
    a = Funnel.from_list([{"stage": "s", "in": 3, "out": 1, "dropped": {"x": 1}, "errors": 1}])
    b = Funnel.from_list([{"stage": "s", "in": 2, "out": 2, "dropped": {"y": 0}, "errors": 0}])
    merged = a.merge(b)
    assert merged.to_list()[0]["in"] == 5 and merged.to_list()[0]["out"] == 3
    broken = Funnel.from_list([{"stage": "s", "in": 3, "out": 3, "dropped": {"x": 1}, "errors": 0}])
    assert broken.closure_problems() == ["stage 's': in 3 != out 3 + dropped 1 + errors 0"]
    assert broken.closure_problems(first_in=4, last_out=2)[1:] == [
        "first stage in 3 != 4",
        "last stage out 3 != 2",
    ]

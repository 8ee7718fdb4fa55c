"""What both fuzzers share: the exit-status rule, the tally of outcomes and the closing report."""
from collections import Counter
from collections.abc import Sequence


def exit_rule(code: int, stderr: str) -> tuple[str, str]:
    """(outcome, problem) for a finished case: exit 0, 1 or 2, and exactly one line on stderr
    with 1 or 2; problem is "" when the case kept the rule."""
    if code not in (0, 1, 2):
        return f"exit {code}", stderr[-2000:]
    lines = stderr.splitlines()
    if code and len(lines) != 1:
        return f"exit {code}", f"{len(lines)} lines on stderr: {stderr[-2000:]!r}"
    return f"exit {code}", ""


def record(tally: Counter[tuple[str, str]], broken: list[tuple[Sequence[str], str, str]],
           command: str, argv: Sequence[str], outcome: str, problem: str) -> None:
    tally[(command, outcome)] += 1
    if problem:
        broken.append((argv, outcome, problem))


def report(fuzzer: str, seed: int, count: int, tally: Counter[tuple[str, str]],
           broken: Sequence[tuple[Sequence[str], str, str]], prefix: str = "") -> int:
    """Prints the tally and up to 40 broken cases; the exit status: 1 when any broke a rule."""
    for (command, outcome), n in sorted(tally.items()):
        print(f"{command:10} {outcome:12} {n}")
    print(f"{fuzzer}: seed {seed}, {count} cases, {len(broken)} broke a rule")
    for argv, outcome, problem in broken[:40]:
        shown = " ".join(a if len(a) < 200 else a[:200] + "..." for a in argv)
        print(f"BROKEN ({outcome}): {prefix}{shown}\n    {problem[:1500]}")
    return 1 if broken else 0

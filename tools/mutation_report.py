"""The score of the last `mutmut run`, per file of app/ and overall, read from
mutmut's own result files (mutants/**/*.py.meta) with mutmut's own reading of
its exit codes.

score = killed / (killed + survived); mutants with no test, timed out or not
checked are counted in their own columns, outside the score.

    python tools/mutation_report.py [--survivors]
"""
import argparse
import json
import pathlib
import sys
from collections import Counter

from mutmut.stats import status_by_exit_code

COLUMNS = ("killed", "survived", "no tests", "timeout", "other")


def counts_by_file(mutants):
    counts = {}
    survivors = []
    for meta in sorted(mutants.glob("**/*.py.meta")):
        exit_codes = json.loads(meta.read_text())["exit_code_by_key"]
        tally = Counter()
        for name, exit_code in sorted(exit_codes.items()):
            status = status_by_exit_code[exit_code]
            tally[status if status in COLUMNS else "other"] += 1
            if status == "survived":
                survivors.append(name)
        counts[str(meta.relative_to(mutants)).removesuffix(".meta")] = tally
    return counts, survivors


def score(tally):
    tested = tally["killed"] + tally["survived"]
    return f"{100 * tally['killed'] / tested:.1f} %" if tested else "-"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=pathlib.Path, default=pathlib.Path("mutants"))
    parser.add_argument("--survivors", action="store_true", help="list the surviving mutants' names too")
    args = parser.parse_args(argv)
    counts, survivors = counts_by_file(args.mutants)
    if not counts:
        sys.exit(f"No mutmut results under {args.mutants}/: run `make mutation` first")
    total = sum(counts.values(), Counter())
    width = max(len(path) for path in counts)
    print(f"{'file':<{width}}  " + "  ".join(f"{column:>8}" for column in COLUMNS) + "     score")
    for path, tally in [*counts.items(), ("total", total)]:
        print(f"{path:<{width}}  " + "  ".join(f"{tally[column]:>8}" for column in COLUMNS) + f"  {score(tally):>8}")
    if args.survivors:
        print("\nsurvivors (`mutmut show NAME` shows one):")
        print("\n".join(survivors))


if __name__ == "__main__":
    main()

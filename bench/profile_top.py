"""
The top entries of a py-spy profile recorded with C{--format raw} (what
C{scale.py --profile DIR} writes): each function's share of the samples,
own (the sample's innermost frame) and inclusive (anywhere in the stack).

    python bench/profile_top.py DIR/idle.txt [COUNT]
"""

import collections
import re
import sys


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    path, count = argv[0], int(argv[1]) if len(argv) > 1 else 25
    own: collections.Counter = collections.Counter()
    inclusive: collections.Counter = collections.Counter()
    total = 0
    with open(path) as f:
        for line in f:
            line = line.rstrip()
            if not line:
                continue
            stack, _, samples = line.rpartition(" ")
            n = int(samples)
            total += n
            frames = [re.sub(r":\d+\)$", ")", frame) for frame in stack.split(";")]
            own[frames[-1]] += n
            for frame in set(frames):
                inclusive[frame] += n
    print("%d samples" % (total,))
    for title, counter in (("own", own), ("inclusive", inclusive)):
        print("== " + title)
        for frame, n in counter.most_common(count):
            print("%5.1f%% %s" % (100.0 * n / total, frame))


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""
Compile x509-limbo's testcases from a checkout of C2SP/x509-limbo into the two files vouch keeps:

    limbo.json                 every testcase but the bettertls:: ones (JSON, as `limbo compile`)
    limbo-bettertls.json.gz    the bettertls:: testcases (gzip, fixed header, so byte-stable)

    python3 compile-limbo.py X509_LIMBO_CHECKOUT OUT_DIR [BETTERTLS_EXPORT_JSON]

BETTERTLS_EXPORT_JSON is the output of Netflix/bettertls `bettertls export-tests` (what upstream
keeps as limbo/_assets/bettertls.json); without it no bettertls:: case is made. The online::
cases are the cached limbo/_assets/online/*.limbo.json, loaded as they are (re-fetching them needs
pyOpenSSL and the network). Needs pydantic 2 and cryptography. Keys and random serial numbers are
drawn afresh on each run: ids, descriptions, expected results and certificate contents repeat.
"""

import gzip
import shutil
import sys
from pathlib import Path

src = Path(sys.argv[1]).resolve()
out = Path(sys.argv[2]).resolve()
sys.path.insert(0, str(src))

from limbo import testcases  # noqa: E402
import limbo.testcases.invalid as invalid  # noqa: E402
from limbo.models import Limbo, Testcase  # noqa: E402

# cryptography >= 47 declares __deepcopy__ abstract on key classes; limbo's deliberately broken
# keys (invalid::) predate that, so give them the trivial copy
for cls in vars(invalid).values():
    if isinstance(cls, type) and "__deepcopy__" in getattr(cls, "__abstractmethods__", ()):
        cls.__deepcopy__ = lambda self, memo: self
        cls.__abstractmethods__ = frozenset(m for m in cls.__abstractmethods__ if m != "__deepcopy__")

if len(sys.argv) > 3:
    from limbo.testcases import bettertls  # noqa: E402

    shutil.copyfile(sys.argv[3], src / "limbo" / "_assets" / "bettertls.json")
    bettertls.register_testcases()

cases = [make() for _, make in testcases.registry.items()]
for path in sorted((src / "limbo" / "_assets" / "online").glob("*.limbo.json")):
    cases.append(Testcase.model_validate_json(path.read_text()))

main = [tc for tc in cases if not tc.id.startswith("bettertls::")]
better = [tc for tc in cases if tc.id.startswith("bettertls::")]
(out / "limbo.json").write_text(Limbo(version=1, testcases=main).model_dump_json(indent=2) + "\n")
if better:
    data = Limbo(version=1, testcases=better).model_dump_json().encode()
    with open(out / "limbo-bettertls.json.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, mtime=0, compresslevel=9) as gz:
            gz.write(data)
print(f"{len(main)} testcases in limbo.json, {len(better)} in limbo-bettertls.json.gz", file=sys.stderr)

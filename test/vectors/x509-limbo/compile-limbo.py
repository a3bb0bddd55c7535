#!/usr/bin/env python3
"""
Compile x509-limbo's testcases into one limbo.json from a checkout of C2SP/x509-limbo, without the
two inputs a source snapshot may lack: the BetterTLS export (limbo/_assets/bettertls.json, whose
bettertls:: cases are then left out) and pyOpenSSL (needed only to re-fetch online:: cases; the
cached ones in limbo/_assets/online are loaded as they are).

    python3 compile-limbo.py /path/to/x509-limbo > limbo.json

Needs pydantic 2 and cryptography. Keys and serial numbers are random, so two runs give the same
testcases (ids, descriptions, expected results, certificate contents) with different key bytes.
"""
import sys
from pathlib import Path

src = Path(sys.argv[1]).resolve()
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

cases = [make() for _, make in testcases.registry.items()]
for path in sorted((src / "limbo" / "_assets" / "online").glob("*.limbo.json")):
    cases.append(Testcase.model_validate_json(path.read_text()))
print(Limbo(version=1, testcases=cases).model_dump_json(indent=2))

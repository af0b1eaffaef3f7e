"""arXiv's category taxonomy, shipped with the bot, and the check every category setting goes
through: `check_categories` refuses what arXiv does not list and names the closest category.

Archive names (`cs`, `math`, `astro-ph`, …) are accepted too: arXiv's feeds take them for the
whole archive. The table follows https://arxiv.org/category_taxonomy; pure, no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence

_TAXONOMY = """
cs.AI cs.AR cs.CC cs.CE cs.CG cs.CL cs.CR cs.CV cs.CY cs.DB cs.DC cs.DL cs.DM cs.DS cs.ET cs.FL
cs.GL cs.GR cs.GT cs.HC cs.IR cs.IT cs.LG cs.LO cs.MA cs.MM cs.MS cs.NA cs.NE cs.NI cs.OH cs.OS
cs.PF cs.PL cs.RO cs.SC cs.SD cs.SE cs.SI cs.SY
econ.EM econ.GN econ.TH
eess.AS eess.IV eess.SP eess.SY
math.AC math.AG math.AP math.AT math.CA math.CO math.CT math.CV math.DG math.DS math.FA math.GM
math.GN math.GR math.GT math.HO math.IT math.KT math.LO math.MG math.MP math.NA math.NT math.OA
math.OC math.PR math.QA math.RA math.RT math.SG math.SP math.ST
astro-ph.CO astro-ph.EP astro-ph.GA astro-ph.HE astro-ph.IM astro-ph.SR
cond-mat.dis-nn cond-mat.mes-hall cond-mat.mtrl-sci cond-mat.other cond-mat.quant-gas
cond-mat.soft cond-mat.stat-mech cond-mat.str-el cond-mat.supr-con
gr-qc hep-ex hep-lat hep-ph hep-th math-ph nucl-ex nucl-th quant-ph
nlin.AO nlin.CD nlin.CG nlin.PS nlin.SI
physics.acc-ph physics.ao-ph physics.app-ph physics.atm-clus physics.atom-ph physics.bio-ph
physics.chem-ph physics.class-ph physics.comp-ph physics.data-an physics.ed-ph physics.flu-dyn
physics.gen-ph physics.geo-ph physics.hist-ph physics.ins-det physics.med-ph physics.optics
physics.plasm-ph physics.pop-ph physics.soc-ph physics.space-ph
q-bio.BM q-bio.CB q-bio.GN q-bio.MN q-bio.NC q-bio.OT q-bio.PE q-bio.QM q-bio.SC q-bio.TO
q-fin.CP q-fin.EC q-fin.GN q-fin.MF q-fin.PM q-fin.PR q-fin.RM q-fin.ST q-fin.TR
stat.AP stat.CO stat.ME stat.ML stat.OT stat.TH
"""

CATEGORIES: frozenset[str] = frozenset(_TAXONOMY.split())
"""Every current arXiv category."""

ARCHIVES: frozenset[str] = frozenset(c.split(".")[0] for c in CATEGORIES)
"""Archive names, each standing for all its categories in arXiv's feeds."""

_BY_LOWER = {name.lower(): name for name in CATEGORIES | ARCHIVES}


def canonical(name: str) -> str | None:
    """The category or archive as arXiv spells it (`CS.lg` → `cs.LG`), or None when unknown."""
    return _BY_LOWER.get(name.strip().lower())


def closest(name: str) -> str | None:
    """The known category most like `name`, for a "did you mean"."""
    lower = name.strip().lower()
    match = difflib.get_close_matches(lower, list(_BY_LOWER), n=1, cutoff=0.5)
    if not match and "." in lower:
        archive = lower.split(".")[0]
        match = [archive] if archive in _BY_LOWER else []
    return _BY_LOWER[match[0]] if match else None


def check_categories(names: Iterable[str]) -> tuple[str, ...]:
    """The names as arXiv spells them, in order without repeats; ValueError naming each unknown
    one with the closest known category."""
    known: list[str] = []
    problems: list[str] = []
    for name in names:
        found = canonical(name)
        if found is not None:
            known.append(found)
            continue
        guess = closest(name)
        hint = f" (did you mean {guess}?)" if guess else ""
        problems.append(f"{name[:20]!r}{hint}")
    if problems:
        raise ValueError(
            f"not an arXiv category: {', '.join(problems[:3])}; see "
            "https://arxiv.org/category_taxonomy"
        )
    return tuple(dict.fromkeys(known))


def categories_key(categories: Sequence[str]) -> str:
    """How a category set is named in the store: its feed path, e.g. `cs.LG+cs.AI`."""
    return "+".join(categories)

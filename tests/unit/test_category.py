"""Category derivation (seed 000 §6, seed 004 第六条), without a database.

C while the free warranty runs; B when an active maintenance contract covers the product on
the call date; otherwise A; D only for internal work.
"""

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from server.calls.rules import ContractCover, contracts_for_unit, derive_category, explain_reason

days = st.dates(min_value=date(2015, 1, 1), max_value=date(2035, 12, 31))
statuses = st.sampled_from(["active", "terminated"])


@st.composite
def contracts(draw):
    start = draw(days)
    end = start + timedelta(days=draw(st.integers(min_value=0, max_value=1500)))
    number = f"MC-{draw(st.integers(min_value=1, max_value=99999)):05d}"
    return ContractCover(number, start, end, draw(statuses))


contract_lists = st.lists(contracts(), max_size=5)
warranty_ends = st.none() | days


def _gettext(message, **values):
    return message % values if values else message


@given(day=days, warranty_end=days, covers=contract_lists)
def test_warranty_wins_over_any_contract(day, warranty_end, covers):
    category = derive_category(day, warranty_end, covers)
    if day <= warranty_end:
        assert (category.code, category.reason) == ("C", "warranty")
        assert category.detail["until"] == warranty_end.isoformat()
    else:
        assert category.code in ("A", "B")


@given(day=days, warranty_end=warranty_ends, covers=contract_lists)
def test_a_contract_covers_only_within_its_dates_and_while_active(day, warranty_end, covers):
    category = derive_category(day, warranty_end, covers)
    if warranty_end is not None and day <= warranty_end:
        return
    covering = [c for c in covers if c.status == "active" and c.starts_on <= day <= c.ends_on]
    assert (category.code == "B") == bool(covering)
    if covering:
        named = category.detail["contract"]
        assert named in {c.number for c in covering}
        assert category.detail["until"] == max(c.ends_on for c in covering).isoformat()


@given(day=days, warranty_end=warranty_ends, covers=contract_lists)
def test_otherwise_paid_and_the_reason_says_why(day, warranty_end, covers):
    category = derive_category(day, warranty_end, covers)
    if category.code == "A":
        assert category.reason == ("unknown_unit" if warranty_end is None else "paid")
        assert warranty_end is None or day > warranty_end
    assert category.explain(_gettext)  # every reason reads as a sentence


@given(day=days, warranty_end=warranty_ends, covers=contract_lists, internal=st.booleans())
def test_d_only_for_internal_work(day, warranty_end, covers, internal):
    category = derive_category(day, warranty_end, covers, internal=internal)
    assert (category.code == "D") == internal
    if internal:
        assert category.reason == "internal"


@given(day=days, covers=contract_lists)
def test_a_contract_ending_or_starting_on_the_call_day_covers_it(day, covers):
    edge = [ContractCover("MC-START", day, day + timedelta(days=30)), ContractCover("MC-END", day - timedelta(days=30), day)]
    category = derive_category(day, day - timedelta(days=1), edge + covers)
    assert category.code == "B"


def test_a_contract_outside_its_dates_or_terminated_does_not_cover():
    day = date(2026, 3, 2)
    out_of_warranty = date(2025, 1, 1)
    for cover in (ContractCover("MC-1", date(2026, 3, 3), date(2027, 3, 2)),
                  ContractCover("MC-2", date(2025, 3, 2), date(2026, 3, 1)),
                  ContractCover("MC-3", date(2025, 3, 2), date(2027, 3, 1), status="terminated")):
        assert derive_category(day, out_of_warranty, [cover]).code == "A"


@given(unit_id=st.integers(min_value=1, max_value=50), named=st.lists(st.none() | st.integers(min_value=1, max_value=50), max_size=6))
def test_only_contracts_naming_the_unit_or_all_units_can_cover_it(unit_id, named):
    pairs = [(n, ContractCover(f"MC-{i}", date(2026, 1, 1), date(2026, 12, 31))) for i, n in enumerate(named)]
    chosen = contracts_for_unit(pairs, unit_id)
    assert [c.number for c in chosen] == [c.number for n, c in pairs if n is None or n == unit_id]
    unknown = contracts_for_unit(pairs, None)  # the unit is not on file: only "all units" contracts
    assert [c.number for c in unknown] == [c.number for n, c in pairs if n is None]


def test_the_stored_reason_is_explained_in_words():
    derived = derive_category(date(2026, 3, 2), date(2027, 1, 1))
    assert explain_reason("warranty", derived, _gettext) == "Within the free warranty period (until 2027-01-01)"
    assert explain_reason("paid", derived, _gettext) == "Out of warranty and not under contract"

from hypothesis import given
from hypothesis import strategies as st

from stampcard.loyalty.card_codes import (
    ALPHABET,
    CODE_LENGTH,
    check_symbol,
    format_card_code,
    new_card_code,
    normalize_card_code,
)


def test_new_codes_are_short_uppercase_and_valid():
    for _ in range(200):
        code = new_card_code()
        assert len(code) == CODE_LENGTH
        assert set(code) <= set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ")
        assert normalize_card_code(code) == code


def test_typing_is_forgiving():
    code = new_card_code()
    typed = format_card_code(code).lower().replace("0", "o").replace("1", "l")
    assert normalize_card_code(f"  {typed} ") == code


@given(
    st.text(alphabet=ALPHABET, min_size=CODE_LENGTH - 1, max_size=CODE_LENGTH - 1),
    st.integers(0, CODE_LENGTH - 1),
    st.sampled_from(ALPHABET),
)
def test_every_single_mistyped_symbol_is_caught(data, position, replacement):
    code = data + check_symbol(data)
    if code[position] == replacement:
        return
    typo = code[:position] + replacement + code[position + 1 :]
    assert normalize_card_code(typo) is None


@given(
    st.text(alphabet=ALPHABET, min_size=CODE_LENGTH - 1, max_size=CODE_LENGTH - 1),
    st.integers(0, CODE_LENGTH - 2),
)
def test_every_swap_of_neighbours_is_caught(data, position):
    code = data + check_symbol(data)
    a, b = code[position], code[position + 1]
    if a == b or {a, b} == {"0", "Z"}:  # the one pair Luhn mod N cannot tell apart
        return
    swapped = code[:position] + b + a + code[position + 2 :]
    assert normalize_card_code(swapped) is None


def test_garbage_is_not_a_code():
    for garbage in ["", "ABC", "Ü" * 9, "' OR 1=1 --", "A" * 10_000]:
        assert normalize_card_code(garbage) is None

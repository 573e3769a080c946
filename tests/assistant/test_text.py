from assistant.text import clean_text, cut


def test_control_characters_are_stripped_and_spacing_normalised():
    assert clean_text("  hi\x00\x07 there\u200b\r\n\r\n\r\n\r\nbye\ufeff ") == "hi there\n\nbye"


def test_long_texts_are_cut_but_never_inside_a_mask_tag():
    assert cut("a" * 2500, 2000) == ("a" * 2000, True)
    assert cut("short", 2000) == ("short", False)
    assert cut("call [PHONE] now", 8) == ("call", True)


def test_none_and_blank_become_empty():
    assert clean_text(None) == "" and clean_text(" \t\n ") == ""

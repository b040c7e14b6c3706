import pytest

from birge.core.names import PersonKey, cyrillic_key, fold, name_root, normalize_display, search_key, search_terms, split_person


def test_display_keeps_kyrgyz_letters_and_collapses_space():
    assert normalize_display("  Өмүрбек   Ңоо\tҮсөн \n") == "Өмүрбек Ңоо Үсөн"
    assert normalize_display("У\u0308") == "\u04f0"  # NFC composes
    assert normalize_display(None) == "" and normalize_display("") == ""


@pytest.mark.parametrize("spellings", [
    ["Жээнбеков Сооронбай", "Jeenbekov Sooronbai", "Zheenbekov Sooronbay", "ЖЕЕНБЕКОВ СООРОНБАЙ", "Жеенбеков Соронбай"],
    ["Айгүл", "Айгуль", "Aigul", "Aygül", "AЙГҮЛ", "aigül", "Aiguel"],
    ["Өмүрбек", "Омурбек", "Ömürbek", "Omurbek", "Oemuerbek", "Θмүрбек", "θмурбек", "Ɵмүрбек"],
    ["Эңкебай", "Энкебай", "Engkebai", "Enkebay"],
    ["Кыргызбаев", "Kyrgyzbaev", "Kirgizbayev", "Кыргызбаев"],
    ["Хасан", "Khasan", "Hasan"],
    ["Жылдыз", "Jyldyz", "Zhyldyz", "Djyldyz", "Dzhyldyz"],
    ["Мария", "Mariya", "Maria", "Марья"],
    ["Елена", "Yelena", "Elena"],
    ["Сергеевич", "Sergeyevich", "Sergeevich"],
    ["Асан уулу", "Asan uulu", "ASAN UULU", "Асан-уулу"],
    ["Асан кызы", "Asan kyzy", "Asan kizi"],
    ["Үсөн", "Usön", "Uson", "Ueson"],
    ["Алексей", "Aleksey", "Alexey", "Aleksei"],
])
def test_spellings_fold_equal(spellings):
    keys = {fold(s) for s in spellings}
    assert len(keys) == 1, keys


@pytest.mark.parametrize("a,b", [
    ("Асан", "Үсөн"),
    ("Айгүл", "Айжан"),
    ("Бакыт", "Бактыбек"),
    ("Асан уулу", "Асан кызы"),
    ("Нурлан", "Нурбек"),
])
def test_different_names_stay_different(a, b):
    assert fold(a) != fold(b)


def test_homoglyph_mixes_inside_one_word():
    latin_in_cyrillic = "Жe\u044dнбeкoв"  # Latin e and o inside a Cyrillic word
    assert fold(latin_in_cyrillic) == fold("Жээнбеков")
    assert fold("Аcанов") == fold("Асанов")  # Latin c stands for Cyrillic с, not for k or c
    assert fold("АСАНOВ") == fold("Асанов")  # Latin capital O
    assert fold("XAСАН") == fold("Хасан")  # Latin X, A in a Cyrillic word: х, not ks
    assert fold("Sо\u043eronbai") == fold("Sooronbai")  # Cyrillic о inside a Latin word
    assert fold("Бyлан") == fold("Булан")  # Latin y inside a Cyrillic word reads as у
    assert fold("Нурлaн") == "nurlan"


def test_legacy_substitutes_for_kyrgyz_letters():
    assert fold("Мөлдир") == fold("Молдир") == fold("Mөldir")
    assert fold("Түмөнбай") == fold("Тумонбай")
    assert fold("Ңоо") == fold("Ноо")


def test_fold_keys_are_plain_latin_and_keep_digits():
    key = fold("  Жээнбеков   Сооронбай 7-класс ")
    assert key == "jenbekov soronbai 7 klas"
    assert key.isascii()
    assert fold("") == "" and fold(None) == ""
    assert fold("O'g'li") == "ogli"


def test_split_person_russian_and_kyrgyz_forms_share_father_root():
    russian = split_person("Асанов", "Бакыт", "Асанович")
    kyrgyz_surname_field = split_person("Асан уулу", "Бакыт", "")
    kyrgyz_patronymic_field = split_person("", "Бакыт", "Асан уулу")
    latin = split_person("Asan uulu", "Bakyt", "")
    assert russian == PersonKey(given="bakit", family="asan", father="asan", sex_hint="male")
    for k in (kyrgyz_surname_field, kyrgyz_patronymic_field, latin):
        assert (k.given, k.father, k.sex_hint, k.family) == ("bakit", "asan", "male", "")
    assert russian.roots == {"asan"}


def test_split_person_whole_kyrgyz_name_in_surname_field():
    k = split_person("Асан уулу Бакыт", "", "")
    assert (k.given, k.father, k.sex_hint) == ("bakit", "asan", "male")


def test_uulu_and_kyzy_tell_sex():
    son = split_person("Асан уулу", "Бакыт", "")
    daughter = split_person("Асан кызы", "Бакыт", "")
    assert son.father == daughter.father == "asan"
    assert son.sex_hint == "male" and daughter.sex_hint == "female"
    assert son != daughter
    assert split_person("", "Бакыт", "Асан кызы").sex_hint == "female"
    assert split_person("Асанкызы", "Айгүл", "").father == "asan"  # written as one word
    assert split_person("Asanuulu", "Bakyt", "").sex_hint == "male"
    # a given name that ends like the relationship word is a given name
    aisuluu = split_person("Үсөнбай кызы", "Айсулуу", "")
    assert (aisuluu.given, aisuluu.father, aisuluu.sex_hint) == ("aisulu", "usonb", "female")
    assert split_person("Үсөнбаева", "Aysulu", "").given == "aisulu"


def test_patronymic_and_surname_endings():
    k = split_person("Сооронбаева", "Айгүл", "Сооронбаевна")
    assert (k.family, k.father, k.sex_hint) == ("soronb", "soronb", "female")
    assert split_person("", "Айгүл", "Sooronbay kyzy").father == "soronb"
    assert split_person("Sooronbayev", "Bakyt", "Sooronbayevich").family == "soronb"
    assert split_person("Алиева", "Айпери", "").sex_hint == "female"
    assert split_person("Алиев", "Бакыт", "").sex_hint == "male"
    assert split_person("Жээнбеков", "Бакыт", "").family == split_person("Zheenbekova", "Айгүл", "").family
    assert split_person("", "Бакыт", "").sex_hint is None
    assert name_root("soronbai") == "soronb" and name_root("a") == "a"


def test_search_key_and_terms():
    stored = search_key("Жээнбеков Сооронбай Асанович")
    for query in ["жээнбеков", "Jeenbekov", "Zheenb", "Zh", "СООРОН", "Sooronbay", "Асан", "Жээн Соор"]:
        terms = search_terms(query)
        assert terms and all(t in stored for t in terms), (query, terms)
    for query in ["Жамиля", "Asan kyzy"]:
        assert not all(t in stored for t in search_terms(query))
    assert search_terms("") == [] and search_terms("   ") == [] and search_terms(None) == []
    assert all(t in search_key("Ахмедов") for t in search_terms("Akh"))
    assert all(t in search_key("Ахмедов") for t in search_terms("Ak"))
    assert all(t in search_key("Джамиля") for t in search_terms("Д"))
    assert all(t in search_key("Өмүрбек") for t in search_terms("өмүр"))
    assert all(t in search_key("Өмүрбек") for t in search_terms("Omur"))


def test_cyrillic_key_counts_typos_in_the_original_script():
    assert cyrillic_key("Үлкүннур") == "улкуннур" and cyrillic_key("ҮЛКҮНЭНУР") == "улкунэнур"
    assert cyrillic_key("Аyгүл") == "аугул"  # a Latin lookalike inside a Cyrillic word
    assert cyrillic_key("Tθлθн") == "толон"
    assert cyrillic_key("Мөлдир") == cyrillic_key("Молдир") == "молдир"
    assert cyrillic_key("Aygül") == "" and cyrillic_key("") == "" and cyrillic_key(None) == ""

"""The admin's search by full ID number, or its last 4–6 characters, goes through keyed HMACs; the list shows
only the masked number."""

import re

from tests.factories import make_admin, make_beneficiary, make_station, make_supervisor, valid_id_number
from tests.services.registry.test_search import numbers_sharing_last_four


def test_the_admin_finds_a_person_by_full_id_number(app, client, login_as):
    number = valid_id_number(serial=10)
    person = make_beneficiary(name="张全号", id_number=number)
    make_beneficiary(name="李其他")
    login_as(make_admin())
    html = client.get("/admin/beneficiaries/", query_string={"search": number}).get_data(as_text=True)
    rows = html[html.index("model-list"):]
    # Cell text only: the links back to this list carry the search term in their URLs.
    table = re.sub(r'"[^"]*"', "", rows[rows.index("</thead>"):rows.index("</table>")])
    assert person.name in table and "李其他" not in table
    assert number not in table and person.id_number_masked in table


def _names_listed(client, term: str) -> str:
    html = client.get("/admin/beneficiaries/", query_string={"search": term}).get_data(as_text=True)
    rows = html[html.index("model-list"):]
    return re.sub(r'"[^"]*"', "", rows[rows.index("</thead>"):rows.index("</table>")])


def test_the_last_four_five_or_six_characters_find_a_person(app, client, login_as):
    first, second = numbers_sharing_last_four()
    station = make_station()
    make_beneficiary(station, name="张尾号", id_number=first)
    make_beneficiary(station, name="王尾号", id_number=second)
    make_beneficiary(station, name="李其他")
    login_as(make_admin())
    assert {"张尾号", "王尾号"} <= set(re.findall(r"\w尾号", _names_listed(client, first[-4:])))
    table = _names_listed(client, first[-5:])
    assert "张尾号" in table and "王尾号" not in table and "李其他" not in table
    table = _names_listed(client, second[-6:].lower())
    assert "王尾号" in table and "张尾号" not in table
    # Any other term is still a name search.
    assert "李其他" in _names_listed(client, "其他")
    assert "身份证号或其后 4–6 位" in client.get("/admin/beneficiaries/").get_data(as_text=True)


def test_a_supervisor_finds_by_tail_only_in_their_stations(app, client, login_as):
    first, second = numbers_sharing_last_four()
    mine, theirs = make_station(), make_station()
    make_beneficiary(mine, name="本镇人", id_number=first)
    make_beneficiary(theirs, name="邻镇人", id_number=second)
    login_as(make_supervisor(mine))
    table = _names_listed(client, first[-4:])
    assert "本镇人" in table and "邻镇人" not in table

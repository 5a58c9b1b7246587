"""Saved column mappings belong to a user: their own are suggested to them, shared ones to everyone, and every
change to one is audited."""

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.urls import reverse

from onboarding.models import AuditAction, AuditEvent, ClientRecord, SavedMapping
from onboarding.services.audit import audit_chain_verify
from onboarding.services.mappings import saved_mapping_delete, saved_mapping_share
from onboarding.services.uploads import upload_map_columns, upload_receive
from tests.imports import csv_bytes, person, uploaded

# Name and external id swapped: what a careless save would make of a branch's file.
SWAP = {"Nombre(s)": "external_id", "Número de cliente": "name"}


def receive(user, i: int):
    return upload_receive(actor=user, file=uploaded(csv_bytes([person(i)]), f"clientes-{i}.csv"))


def save(user, i: int, name: str, *, swapped: bool = False, shared: bool = False) -> SavedMapping:
    """Upload a file as `user` and stage it with its mapping saved as `name`; returns the saved mapping."""
    upload = receive(user, i)
    mapping = {**upload.mapping, **SWAP} if swapped else upload.mapping
    upload = upload_map_columns(actor=user, upload_id=upload.pk, mapping=mapping, save_as=name, share=shared)
    return upload.saved_mapping


def test_my_own_mapping_is_applied_not_the_one_another_user_saved_last(capturista, capturista2):
    mine = save(capturista, 0, "Sucursal Norte")
    save(capturista2, 1, "Mi versión", swapped=True)
    later = receive(capturista, 2)
    assert later.saved_mapping == mine
    assert later.mapping["Nombre(s)"] == "name" and later.mapping["Número de cliente"] == "external_id"


def test_another_users_private_mapping_is_never_applied(capturista, capturista2):
    save(capturista2, 1, "Mi versión", swapped=True)
    later = receive(capturista, 2)
    assert later.saved_mapping is None and later.mapping["Nombre(s)"] == "name"  # the suggestion from the headers


def test_a_shared_mapping_is_offered_to_everyone_and_my_own_wins(capturista, capturista2):
    shared = save(capturista2, 1, "Formato matriz", shared=True)
    assert receive(capturista, 2).saved_mapping == shared
    mine = save(capturista, 3, "Mío")
    assert receive(capturista, 4).saved_mapping == mine


def test_the_same_name_for_two_users_is_two_mappings(capturista, capturista2):
    first = save(capturista, 0, "Sucursal Norte")
    second = save(capturista2, 1, "Sucursal Norte", swapped=True)
    assert first.pk != second.pk and SavedMapping.objects.count() == 2
    first.refresh_from_db()
    assert first.owner == capturista and first.mapping["Nombre(s)"] == "name"


def test_sharing_changing_and_deleting_a_shared_mapping_is_audited(capturista, capturista2):
    saved = save(capturista, 0, "Sucursal Norte")
    created = AuditEvent.objects.get(action=AuditAction.MAPPING_SAVED)
    assert created.actor == capturista and created.changes["shared"] is False
    assert created.target_id == str(saved.pk) and created.upload_id is not None

    saved_mapping_share(actor=capturista, mapping_id=saved.pk, shared=True)
    shared = AuditEvent.objects.filter(action=AuditAction.MAPPING_SAVED).latest("seq")
    assert shared.actor == capturista and shared.changes["shared"] == [False, True]

    changed = save(capturista, 1, "Sucursal Norte", swapped=True, shared=True)
    assert changed.pk == saved.pk and changed.mapping["Nombre(s)"] == "external_id"
    event = AuditEvent.objects.filter(action=AuditAction.MAPPING_SAVED).latest("seq")
    assert event.changes["mapping"]["Nombre(s)"] == ["name", "external_id"]

    saved_mapping_delete(actor=capturista, mapping_id=saved.pk)
    deleted = AuditEvent.objects.get(action=AuditAction.MAPPING_DELETED)
    assert deleted.actor == capturista and deleted.changes["name"] == "Sucursal Norte"
    assert deleted.changes["shared"] is True and deleted.changes["mapping"]["Nombre(s)"] == "external_id"
    assert not SavedMapping.objects.exists()
    assert ClientRecord.objects.count() == 2  # the uploads staged with it keep their records
    assert audit_chain_verify().ok


def test_only_the_owner_shares_or_deletes_a_mapping(capturista, capturista2, oficial, auditor):
    saved = save(capturista, 0, "Sucursal Norte", shared=True)
    events = AuditEvent.objects.count()
    for user in (capturista2, oficial, auditor):
        with pytest.raises(PermissionDenied):
            saved_mapping_share(actor=user, mapping_id=saved.pk, shared=False)
        with pytest.raises(PermissionDenied):
            saved_mapping_delete(actor=user, mapping_id=saved.pk)
    saved.refresh_from_db()
    assert saved.shared and AuditEvent.objects.count() == events


def test_saving_under_my_name_never_changes_another_users_shared_mapping(capturista, capturista2):
    theirs = save(capturista2, 1, "Formato matriz", shared=True)
    mine = save(capturista, 2, "Formato matriz", swapped=True)
    theirs.refresh_from_db()
    assert mine.pk != theirs.pk and theirs.mapping["Nombre(s)"] == "name"


# -- the pages ---------------------------------------------------------------------------------------------------


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"


def test_the_mapping_page_offers_my_mappings_and_shared_ones_marked_as_shared(
    client_as, english, capturista, capturista2, oficial
):
    mine = save(capturista, 0, "Sucursal Norte")
    shared = save(capturista2, 1, "Formato matriz", swapped=True, shared=True)
    private = save(oficial, 2, "Privado de oficial", swapped=True)
    upload = receive(capturista, 3)
    client = client_as(capturista)
    page = client.get(reverse("uploads:mapping", args=[upload.pk])).text
    assert 'id="saved-mapping"' in page and "Sucursal Norte" in page
    assert f'<option value="{mine.pk}" selected>Sucursal Norte</option>' in page
    assert f'<option value="{shared.pk}">Formato matriz · shared · capturista2</option>' in page
    assert "Privado de oficial" not in page

    applied = client.get(reverse("uploads:mapping", args=[upload.pk]), {"saved": shared.pk}).text
    assert '<span class="badge badge-shared">Shared</span>' in applied and "saved by capturista2" in applied
    assert f'name="saved" value="{shared.pk}"' in applied
    name_column = upload.headers.index("Nombre(s)")
    assert 'value="external_id" selected' in applied.split(f'id="column-{name_column}"')[1].split("</tr>")[0]
    # Another user's private mapping cannot be asked for by its number: the file keeps its own preselection.
    sneaky = client.get(reverse("uploads:mapping", args=[upload.pk]), {"saved": private.pk}).text
    assert f'<option value="{mine.pk}" selected>' in sneaky and f'name="saved" value="{private.pk}"' not in sneaky


def test_staging_with_an_applied_shared_mapping_records_it(client_as, capturista, capturista2):
    shared = save(capturista2, 1, "Formato matriz", shared=True)
    upload = receive(capturista, 3)
    data = {f"col_{i}": shared.mapping.get(h, "") for i, h in enumerate(upload.headers)} | {"saved": shared.pk}
    response = client_as(capturista).post(reverse("uploads:mapping", args=[upload.pk]), data)
    assert response.status_code == 302
    upload.refresh_from_db()
    assert upload.saved_mapping == shared and upload.mapped_by == capturista


def test_saving_and_sharing_from_the_mapping_page(client_as, capturista):
    upload = receive(capturista, 0)
    data = {f"col_{i}": upload.mapping.get(h, "") for i, h in enumerate(upload.headers)}
    client = client_as(capturista)
    client.post(reverse("uploads:mapping", args=[upload.pk]), data | {"save_as": "Norte", "share": "on"})
    saved = SavedMapping.objects.get()
    assert (saved.name, saved.owner, saved.shared) == ("Norte", capturista, True)
    assert AuditEvent.objects.get(action=AuditAction.MAPPING_SAVED).changes["shared"] is True


def test_the_owner_shares_stops_sharing_and_deletes_on_the_mappings_page(client_as, english, capturista):
    saved = save(capturista, 0, "Sucursal Norte")
    client = client_as(capturista)
    page = client.get(reverse("uploads:mappings")).text
    assert f'id="saved-mapping-{saved.pk}"' in page and "Share with everyone" in page
    response = client.post(reverse("uploads:mapping-share", args=[saved.pk]), {"shared": "on"})
    assert response.status_code == 302 and SavedMapping.objects.get().shared
    assert "Stop sharing" in client.get(reverse("uploads:mappings")).text
    client.post(reverse("uploads:mapping-share", args=[saved.pk]))
    assert not SavedMapping.objects.get().shared
    client.post(reverse("uploads:mapping-delete", args=[saved.pk]))
    assert not SavedMapping.objects.exists()
    assert [e.action for e in AuditEvent.objects.filter(target_type="saved_mapping").order_by("seq")] == [
        AuditAction.MAPPING_SAVED,
        AuditAction.MAPPING_SAVED,
        AuditAction.MAPPING_SAVED,
        AuditAction.MAPPING_DELETED,
    ]


@pytest.mark.parametrize(("role", "status"), [("capturista2", 403), ("oficial", 403), ("auditor", 403)])
def test_nobody_else_shares_or_deletes_a_mapping(request, client_as, english, capturista, role, status):
    saved = save(capturista, 0, "Sucursal Norte", shared=True)
    client = client_as(request.getfixturevalue(role))
    page = client.get(reverse("uploads:mappings"))
    if page.status_code == 200:  # a user who uploads sees the shared mapping, without its owner's buttons
        assert "Sucursal Norte" in page.text and reverse("uploads:mapping-delete", args=[saved.pk]) not in page.text
    assert client.post(reverse("uploads:mapping-share", args=[saved.pk])).status_code == status
    assert client.post(reverse("uploads:mapping-delete", args=[saved.pk])).status_code == status
    assert SavedMapping.objects.get().shared
    assert client_as(capturista).post(reverse("uploads:mapping-delete", args=[saved.pk + 1])).status_code == 404
    assert client.get(reverse("uploads:mapping-delete", args=[saved.pk])).status_code in (403, 405)


# -- the command -------------------------------------------------------------------------------------------------


def test_import_clients_uses_my_mapping_of_that_name_then_a_shared_one(tmp_path, capturista, capturista2, oficial):
    save(capturista, 0, "Norte", swapped=True)
    save(capturista2, 1, "Norte", shared=True)
    path = tmp_path / "clientes.csv"
    path.write_bytes(csv_bytes([person(3)]))
    call_command("import_clients", str(path), "--user", "capturista", "--mapping", "Norte", "--allow-same-file")
    assert ClientRecord.objects.latest("pk").external_id == person(3)["Nombre(s)"]  # capturista's own, swapped
    call_command("import_clients", str(path), "--user", "oficial", "--mapping", "Norte", "--allow-same-file")
    assert ClientRecord.objects.latest("pk").name == person(3)["Nombre(s)"]  # the shared one
    save(capturista, 4, "Norte", swapped=True, shared=True)
    with pytest.raises(CommandError, match="Several users share a mapping named 'Norte'"):
        call_command("import_clients", str(path), "--user", "oficial", "--mapping", "Norte", "--allow-same-file")
    with pytest.raises(CommandError, match="No saved mapping named 'Sur'"):
        call_command("import_clients", str(path), "--user", "oficial", "--mapping", "Sur")


def test_the_audit_log_names_a_saved_mapping_event(client_as, english, capturista, auditor):
    saved = save(capturista, 0, "Sucursal Norte")
    saved_mapping_share(actor=capturista, mapping_id=saved.pk, shared=True)
    page = client_as(auditor).get(reverse("audit:log"), {"action": AuditAction.MAPPING_SAVED}).text
    assert "Saved column mapping created, changed or shared" in page
    assert "Saved mapping “Sucursal Norte”" in page


def test_an_officer_sees_which_mapping_the_uploader_got_and_is_offered_their_own(
    client_as, english, capturista, oficial
):
    theirs = save(capturista, 0, "De capturista")
    mine = save(oficial, 1, "De oficial")
    upload = receive(capturista, 2)
    assert upload.saved_mapping == theirs
    page = client_as(oficial).get(reverse("uploads:mapping", args=[upload.pk])).text
    assert "De capturista" in page and "saved by capturista" in page  # what the file was given, and whose
    assert '<option value="" selected>—</option>' in page  # the list does not pretend another one is applied
    assert f'<option value="{mine.pk}">De oficial</option>' in page
    assert f'<option value="{theirs.pk}"' not in page  # capturista's private mapping is not offered to others

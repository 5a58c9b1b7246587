"""The review queue's search reads the narrow search index (migration 0021), not the wide record rows."""

import pytest
from django.db import connection

from onboarding.models import ClientRecord
from onboarding.selectors.review import review_queue_filter
from tests.factories import ClientRecordFactory

pytestmark = pytest.mark.django_db


def test_the_search_finds_its_ids_in_the_search_index():
    ClientRecordFactory.create_batch(3)
    ids = review_queue_filter(q="sofia olvera").query.where.children[-1].rhs  # the subquery of matching ids
    sql, params = ids.sql_with_params()
    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            plan = " ".join(str(row) for row in cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
            assert "COVERING INDEX record_search_text" in plan, plan
        else:
            cursor.execute(
                "SELECT indexdef FROM pg_indexes WHERE indexname = 'record_search_text' AND tablename = %s",
                [ClientRecord._meta.db_table],
            )
            assert "gin_trgm_ops" in cursor.fetchone()[0]


def test_a_search_of_several_words_needs_every_word_and_ignores_accents():
    sofia = ClientRecordFactory(name="Sofía", apellido_paterno="Olvera", apellido_materno="Íñiguez")
    ClientRecordFactory(name="Sofía", apellido_paterno="Ramírez", apellido_materno="López")
    assert list(review_queue_filter(q="sofia iniguez").values_list("pk", flat=True)) == [sofia.pk]

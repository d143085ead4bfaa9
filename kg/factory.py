"""What the settings choose, made in one place: the store, with its builders, and the SHACL engine.

The web app (:mod:`kg.web.app`), the commands (:mod:`kg.cli`) and the ingest (:mod:`kg.ingest`)
all get their store here, so none of them imports another for it, and nothing above this module
knows whether the store is embedded or remote.
"""

from __future__ import annotations

from functools import partial

from kg.derived.build import build_derived
from kg.derived.descriptions import Descriptions
from kg.derived.member_reach import Reach
from kg.derived.tables import Scores
from kg.iris import Minter
from kg.search.build import build_index
from kg.search.summaries import Summaries
from kg.settings import Settings
from kg.store.embedded import Store
from kg.store.interface import GraphStore
from kg.validation.batch import check_engine


def store_for(
    settings: Settings,
    summaries: Summaries | None = None,
    scores: Scores | None = None,
    descriptions: Descriptions | None = None,
) -> GraphStore:
    """The store of these settings (embedded, or remote when ``KG_STORE_QUERY_URL`` is set: same
    interface, see :mod:`kg.store.interface`), with the builders of the search index and of the
    pages' derived data (:mod:`kg.derived`, which reads the index's tables, so it comes second).

    ``summaries``: the search index's summaries of the datasets of the graph about to be
    written (an ingest's), so that the index reads those from them, not from the store;
    ``scores``: the points per quality indicator of that write's datasets, likewise;
    ``descriptions``: the catalogue pages' rows of that graph's subjects, likewise.
    """
    iris = Minter(settings.base_uri)
    private = (
        iris.provenance_graph(),
        f"{settings.base_uri}graph/quarantine/",
        f"{settings.base_uri}graph/report/",
        iris.staging_prefix(),
    )
    if settings.remote:
        from kg.store.remote import RemoteStore

        store = RemoteStore(
            settings.store,
            query_url=settings.store_query_url,
            update_url=settings.store_update_url,
            gsp_url=settings.store_gsp_url,
            user=settings.store_user,
            password=settings.store_password,
            private_graphs=private,
            default_graph=f"{settings.base_uri}graph/default",
            staging_prefix=iris.staging_prefix(),
            timeout=max(settings.http_timeout, settings.query_timeout),
        )
    else:
        store = Store(settings.store, private_graphs=private)
    # the search index (kg.search) is derived with every generation; before it, the listing of the
    # previous members' rows that the derived tables' copy reads starts beside it (kg.derived.member_reach)
    reach = Reach()
    store.add_builder(reach.start)
    store.add_builder(build_index if summaries is None else partial(build_index, summaries=summaries))
    derive = partial(build_derived, settings=settings, scores=scores, fresh=descriptions, reach=reach)
    store.add_builder(derive)
    return store


def validator_for(settings: Settings) -> str:
    """The SHACL engine of these settings (``KG_VALIDATOR``: :mod:`kg.validation.batch`), checked
    before any record is read.

    :raises ValidatorError: rudof without its package (an unknown name is refused with the settings).
    """
    check_engine(settings.validator)
    return settings.validator

"""Names follow their members on planted data: every cluster named after its majority planted sub-genre, then
the map changed; the names land on clusters of the same sub-genre (the study behind the carry benchmark)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mmx_core.trailers.embeddings import EmbeddingSet
from mmx_core.data import TrailerStore, synthesize
from mmx_core.explore import cached_clusters
from mmx_core.studies.carry_over import carry_over, name_by_majority
from mmx_core.studies.subgenre import pooled_features


def test_names_given_at_one_minimum_cluster_size_land_right_at_a_smaller_one(tmp_path):
    folder = synthesize(tmp_path / "planted", 900, 5, latent="planted", subgenres_per_genre=1)
    store = TrailerStore.open(folder)
    ids = store.trailers["id"].astype(str).to_numpy()
    emb = EmbeddingSet(ids, pooled_features(store), name="planted-test")
    truth = pd.Series(store.trailers["subgenre"].astype(str).to_numpy(), index=ids)
    named, subgenre_of = name_by_majority(emb, truth.to_numpy(), 25)
    assert len(named) >= 5 and all(members for members in named.values())
    table = cached_clusters.clusters(emb, min_cluster_size=20).table.set_index("id").loc[ids]
    result = carry_over(named, subgenre_of, truth, [("25 -> 20", ids, table["cluster"].to_numpy()),
                                                    ("the same map", ids, cached_clusters.clusters(emb, min_cluster_size=25)
                                                     .table.set_index("id").loc[ids, "cluster"].to_numpy())])
    same = result.set_index("change").loc["the same map"]
    assert same["share_right"] == 1.0                              # a name always lands on its own cluster
    assert result.set_index("change").at["25 -> 20", "share_right_or_held"] >= 0.8
    assert np.allclose(result["share_right"], result["right"] / result["names"], atol=5e-4)

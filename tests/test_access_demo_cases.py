"""The demo world's named access cases (ecr_audit.sandbox.demo.ACCESS_CASES) are classified as the
case says: the truth table of the effective-access analysis, on the collected demo snapshot."""

import pandas as pd
import pytest

from ecr_audit import access
from ecr_audit.sandbox.demo import ACCESS_CASES

REPOSITORY_CASES = [c for c in ACCESS_CASES.values() if c.sid]
PRINCIPAL_CASES = [c for c in ACCESS_CASES.values() if c.principal_arn]


@pytest.mark.parametrize("case", REPOSITORY_CASES, ids=[c.name for c in REPOSITORY_CASES])
def test_demo_repository_case(demo_inventory, case):
    g = access.grants(demo_inventory)
    rows = g[
        (g["account_id"] == case.account_id)
        & (g["region"] == case.region)
        & (g["repository_name"] == case.repository)
        & g["statement_ids"].map(lambda s: case.sid in s)
    ]
    assert len(rows) == 1, rows
    row = rows.iloc[0]
    assert row["exposure"] == case.policy_exposure
    assert row["effective_exposure"] == case.effective_exposure
    if case.effective_basis:
        assert row["effective_basis"] == case.effective_basis
    names = " ".join(row["neutralized_by"])
    assert all(n in names for n in case.neutralized_by)
    if not case.neutralized_by:
        assert not row["neutralized_by"]
    for cap, can in case.capabilities.items():
        assert bool(row[f"effective_can_{cap}"]) is can


def _can(rows, cap, region, repo):
    r = rows[(rows["capability"] == cap) & (rows["region"] == region) & (rows["repository_name"] == repo)]
    return None if r.empty else r["can"].iloc[0]


@pytest.mark.parametrize("case", PRINCIPAL_CASES, ids=[c.name for c in PRINCIPAL_CASES])
def test_demo_principal_case(demo_inventory, case):
    p = access.principals(demo_inventory)
    rows = p[p["principal_arn"] == case.principal_arn]
    assert not rows.empty, case.principal_arn
    for cap, can in case.capabilities.items():
        if cap == "get_authorization_token":
            token = rows[rows["capability"] == cap]
            assert (not token.empty and bool(token["can"].iloc[0])) is can
            continue
        for region, repo in case.repositories:
            got = _can(rows, cap, region, repo)
            assert (got is not None and not pd.isna(got) and bool(got)) is can, (cap, region, repo, got)
    listed = " ".join(c for cs in rows["capped_by"] for c in cs)
    assert all(name in listed for name in case.capped_by), listed
    if case.via:  # the identity side allows it (alone, or with the repository policy)
        for region, repo in case.repositories:
            r = rows[(rows["region"] == region) & (rows["repository_name"] == repo)]
            assert set(r["via"]) & {case.via, "both"}, (region, repo, set(r["via"]))


def test_demo_ci_role_cannot_push_an_image_where_put_image_is_denied(demo_inventory):
    p = access.principals(demo_inventory)
    ci = p[p["principal_arn"] == ACCESS_CASES["ci_role_pushes_everywhere"].principal_arn]
    assert not _can(ci, "push", "us-east-1", "data/notebooks")


def test_demo_user_without_token_cannot_use_docker(demo_inventory):
    case = ACCESS_CASES["user_without_authorization_token"]
    p = access.principals(demo_inventory)
    pulls = p[(p["principal_arn"] == case.principal_arn) & (p["capability"] == "pull")]
    assert len(pulls) >= len(case.repositories)
    assert pulls["can"].all() and not pulls["can_use_docker"].fillna(True).any()


def test_demo_service_linked_role_is_not_capped_by_scps(demo_inventory):
    case = ACCESS_CASES["service_linked_role_not_capped_by_scp"]
    p = access.principals(demo_inventory)
    rows = p[p["principal_arn"] == case.principal_arn]
    assert set(rows["scp_basis"]) == {"service_linked_role"}
    assert rows.query("capability == 'push'")["can"].all()
    assert not any("SCP" in c for cs in rows["capped_by"] for c in cs)


def test_demo_external_path_names_the_vendor_and_the_role(demo_inventory):
    case = ACCESS_CASES["external_path_via_role"]
    paths = access.external_paths(demo_inventory)
    push = paths[(paths["capability"] == "push") & (paths["role_arn"] == case.principal_arn)]
    assert push[["external_principal", "repository_name"]].values.tolist() == [
        ["999988887777", "payments/api"]
    ]


def test_demo_unused_aws_managed_policy_allows_nothing(demo_inventory):
    p = access.principals(demo_inventory)
    assert not any("AmazonEC2ContainerRegistryFullAccess" in s for ss in p["allowed_by"] for s in ss)


def test_demo_group_member_pushes_only_where_a_resource_policy_lets_everyone_in(demo_inventory):
    case = ACCESS_CASES["group_member_pull"]
    p = access.principals(demo_inventory)
    rows = p[(p["principal_arn"] == case.principal_arn) & (p["capability"] == "push")]
    pushes = rows[rows["can"].fillna(False).astype(bool)]
    assert pushes[["repository_name", "via"]].values.tolist() == [["data/etl", "resource"]]


# -- findings ---------------------------------------------------------------------------------------


def _found(inv, fid, **kw):
    from ecr_audit.findings import findings

    f = findings(inv, **kw)
    return f[f["finding_id"] == fid]


def test_demo_perimeter_gaps_name_each_reason(demo_inventory):
    gaps = _found(demo_inventory, "ecr_perimeter_gap")
    by_repo = dict(zip(gaps["repository_name"], gaps["details"]))
    assert set(by_repo) == {"payments/public-sdk", "data/etl", "shared/base"}
    assert "tag exempts" in by_repo["payments/public-sdk"]
    assert "no RCP is attached" in by_repo["data/etl"]
    assert "management account" in by_repo["shared/base"]


def test_demo_exposure_findings_say_policy_and_effective_exposure(demo_inventory):
    pulls = _found(demo_inventory, "ecr_repository_public_pull").set_index("repository_name")
    charts = pulls.loc["payments/charts"]
    assert "policy exposure public, effective after RCPs external" in charts["details"]
    assert "data-perimeter-ecr @ Root/prod" in charts["details"]
    assert charts["severity"] == "low"  # the RCP took the public part away
    assert pulls.loc["shared/base", "severity"] == "high"


def test_demo_external_path_finding_says_who_what_and_which_role(demo_inventory):
    paths = _found(demo_inventory, "ecr_external_path_via_role")
    vendor = paths[paths["details"].str.startswith("999988887777")]
    assert len(vendor) == 1 and vendor["severity"].iloc[0] == "high"
    assert (
        "push payments/api" in vendor["details"].iloc[0] and "role/vendor-deploy" in vendor["details"].iloc[0]
    )


def test_demo_admin_all_repositories_lists_the_ecr_star_roles(demo_inventory):
    admins = _found(demo_inventory, "ecr_principal_admin_all_repositories")
    assert {"arn:aws:iam::012345678901:role/repo-admin"} <= set(admins["resource_arn"])
    assert not any("developer" in a for a in admins["resource_arn"])  # capped by its boundary


def test_demo_push_to_production_follows_the_production_parameter(demo_inventory):
    assert _found(demo_inventory, "ecr_principal_can_push_prod").empty  # nothing is env=prod or prod…
    prod = _found(demo_inventory, "ecr_principal_can_push_prod", production="team=payments")
    pushers = set(
        prod["uid_key"] if "uid_key" in prod else prod["details"].str.extract(r"\((arn:[^)]+)\)")[0]
    )
    assert "arn:aws:iam::012345678901:role/ci-deployer" in pushers
    assert "arn:aws:iam::012345678901:role/developer" not in pushers
    assert set(prod["repository_name"]) <= {"payments/api", "payments/worker", "payments/public-sdk"}
    again = _found(demo_inventory, "ecr_principal_can_push_prod", production="team=payments")
    assert prod["finding_uid"].tolist() == again["finding_uid"].tolist()  # stable uids

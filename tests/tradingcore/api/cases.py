"""Reusable API test cases, written once and applied to every endpoint (NetBox's ``APIViewTestCases``).

A test class mixes in the cases its endpoint supports and says how to make its objects:

- ``GetObject``: anonymous 401, another user's object 404 (never 403, never the data), own 200;
- ``ListObjects``: anonymous 401, only the key's users' objects, each declared filter, paging;
- ``CreateObject``: anonymous 401, a user outside the key 403, created 201;
- ``DetailActions``: each declared action on an object: anonymous 401, another user's 404, own OK.

Everything runs for real: PostgreSQL, Redis, the managers and the paper exchange (the outside world).
"""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
from rest_framework.test import APIClient

from tests.managers import OTHER_USER, USER, mark
from tradingcore.api.keys import create_api_key

BTC_MARK = "45000"


def client_for(*user_ids: str, name: str = "bot", all_users: bool = False) -> APIClient:
    """A client sending a fresh API key acting for ``user_ids`` (or every user)."""
    _, raw_key = create_api_key(name=name, user_ids=user_ids, all_users=all_users)
    client = APIClient(SERVER_NAME="localhost")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def error_of(response: Any) -> dict[str, Any]:
    """The ``error`` object of an error response (every error has the same body)."""
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]


class Base:
    """Clients for the key's user (``client``), another bot (``other_client``) and nobody."""

    list_url: ClassVar[str]

    @pytest.fixture(autouse=True)
    def _world(self, transactional_db: Any) -> None:
        mark(BTC_MARK)
        self.client = client_for(USER)
        self.other_client = client_for(OTHER_USER, name="other-bot")
        self.anonymous = APIClient(SERVER_NAME="localhost")

    def make_object(self, user_id: str = USER) -> str:
        """Create one object of ``user_id`` through the managers; its id."""
        raise NotImplementedError

    def detail_url(self, object_id: str) -> str:
        return f"{self.list_url}{object_id}/"


class GetObject(Base):
    def test_get_object_anonymously_is_401(self) -> None:
        object_id = self.make_object()

        response = self.anonymous.get(self.detail_url(object_id))

        assert response.status_code == 401
        assert error_of(response)["code"] == "not_authenticated"
        assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_get_object_of_another_user_is_404_without_its_data(self) -> None:
        object_id = self.make_object()

        response = self.other_client.get(self.detail_url(object_id))

        assert response.status_code == 404
        assert error_of(response)["code"] == "not_found"
        assert USER not in response.content.decode()

    def test_get_object_returns_it(self) -> None:
        object_id = self.make_object()

        response = self.client.get(self.detail_url(object_id))

        assert response.status_code == 200
        assert response.json()["id"] == object_id
        assert response.json()["user_id"] == USER


class ListObjects(Base):
    # (query parameters, how many of the objects made by ``make_filter_objects`` they return)
    filter_cases: ClassVar[list[tuple[dict[str, Any], int]]] = []
    bad_filter: ClassVar[dict[str, Any]] = {"exchange": "nasdaq"}

    def make_filter_objects(self) -> None:
        """Objects of ``USER`` that ``filter_cases`` count."""
        raise NotImplementedError

    def test_list_anonymously_is_401(self) -> None:
        assert self.anonymous.get(self.list_url).status_code == 401

    def test_list_shows_only_the_users_of_the_key(self) -> None:
        mine, theirs = self.make_object(USER), self.make_object(OTHER_USER)

        listed = {item["id"] for item in self.client.get(self.list_url).json()["results"]}
        listed_by_other = {item["id"] for item in self.other_client.get(self.list_url).json()["results"]}

        assert mine in listed
        assert theirs not in listed
        assert theirs in listed_by_other
        assert mine not in listed_by_other

    def test_list_filters(self) -> None:
        self.make_filter_objects()

        for params, expected in self.filter_cases:
            response = self.client.get(self.list_url, params)
            assert response.status_code == 200, (params, response.content)
            assert response.json()["count"] == expected, params

    def test_list_refuses_a_bad_filter_value_naming_it(self) -> None:
        response = self.client.get(self.list_url, self.bad_filter)

        assert response.status_code == 400
        assert set(error_of(response)["details"]) == set(self.bad_filter)

    def test_list_refuses_a_misspelt_filter_instead_of_ignoring_it(self) -> None:
        # a bot's typo must not widen its question: ?statuss=open would list closed objects too
        response = self.client.get(self.list_url, {"statuss": "open", "limit": 5})

        assert response.status_code == 400
        assert error_of(response)["details"] == {"statuss": ["unknown query parameter"]}

    def test_list_is_paginated_newest_first(self) -> None:
        made = [self.make_object() for _ in range(3)]

        first = self.client.get(self.list_url, {"limit": 2}).json()
        second = self.client.get(first["next"]).json()

        assert first["count"] == 3
        assert [item["id"] for item in first["results"] + second["results"]] == list(reversed(made))
        assert second["next"] is None


class CreateObject(Base):
    create_url: ClassVar[str | None] = None

    def create_body(self, user_id: str = USER) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def url(self) -> str:
        return self.create_url or self.list_url

    def test_create_anonymously_is_401(self) -> None:
        assert self.anonymous.post(self.url, self.create_body(), format="json").status_code == 401

    def test_create_for_a_user_outside_the_key_is_403(self) -> None:
        response = self.other_client.post(self.url, self.create_body(USER), format="json")

        assert response.status_code == 403
        assert error_of(response)["code"] == "user_not_allowed"

    def test_create_answers_201_with_the_object(self) -> None:
        response = self.client.post(self.url, self.create_body(), format="json")

        assert response.status_code in (200, 201), response.content
        assert response.json()["user_id"] == USER


class DetailActions(Base):
    # (method, path after the object's URL, body or query, expected status for the owner)
    actions: ClassVar[list[tuple[str, str, dict[str, Any], int]]] = []

    def call(self, client: APIClient, object_id: str, action: tuple[str, str, dict[str, Any], int]) -> Any:
        method, path, data, _ = action
        return getattr(client, method)(f"{self.detail_url(object_id)}{path}", data, format="json")

    def test_actions_anonymously_are_401(self) -> None:
        object_id = self.make_object()

        assert [self.call(self.anonymous, object_id, action).status_code for action in self.actions] == [401] * len(
            self.actions
        )

    def test_actions_on_another_users_object_are_404(self) -> None:
        object_id = self.make_object()

        responses = [self.call(self.other_client, object_id, action) for action in self.actions]

        assert [response.status_code for response in responses] == [404] * len(self.actions)
        assert all(error_of(response)["code"] == "not_found" for response in responses)

    def test_actions_on_an_own_object_succeed(self) -> None:
        for action in self.actions:
            object_id = self.make_object()
            response = self.call(self.client, object_id, action)
            assert response.status_code == action[3], (action, response.content)

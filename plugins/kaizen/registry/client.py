"""MLflow's registry and artifact proxy over plain REST: what the model server and training read.

seldon-core's pins rule out a current mlflow client in the serving environment, and the
server's REST API is stable: resolve an alias to a version, then download the version's
files through the tracking server's artifact proxy (``--serve-artifacts``).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import requests

from kaizen.config import mlflow_credentials
from kaizen.errors import RegistryError

ARTIFACT_SCHEME = "mlflow-artifacts:"
MODEL_ARTIFACT = "artifacts/model.npz"  # the numpy artifact inside a logged kaizen pyfunc model


@dataclass(frozen=True)
class ModelVersion:
    name: str
    version: str
    run_id: str
    aliases: tuple[str, ...] = ()
    tags: dict[str, str] = field(default_factory=dict)


class RegistryClient:
    def __init__(self, tracking_uri: str, timeout_s: float = 10.0):
        self.base = tracking_uri.rstrip("/")
        self.timeout_s = timeout_s
        self.http = requests.Session()
        # The same credentials the mlflow client reads, for a server with --app-name basic-auth.
        self.http.auth = mlflow_credentials()

    def version_for_alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version behind ``name@alias``, or None when the alias is not set (yet)."""
        body = self._get("/api/2.0/mlflow/registered-models/alias", {"name": name, "alias": alias})
        if body is None:
            return None
        mv = body["model_version"]
        return ModelVersion(mv["name"], str(mv["version"]), mv.get("run_id", ""))

    def versions(self, name: str, newest: int = 50) -> list[ModelVersion]:
        """The ``newest`` versions of ``name``, newest first, with their aliases and tags (none
        before the first registration)."""
        model = self._get("/api/2.0/mlflow/registered-models/get", {"name": name})
        aliases: dict[str, list[str]] = {}
        for entry in (model or {}).get("registered_model", {}).get("aliases", []):
            aliases.setdefault(str(entry["version"]), []).append(entry["alias"])
        body = self._get(
            "/api/2.0/mlflow/model-versions/search",
            {"filter": f"name='{name}'", "max_results": newest, "order_by": "version_number DESC"},
        )
        found = [
            ModelVersion(
                mv["name"],
                str(mv["version"]),
                mv.get("run_id", ""),
                tuple(sorted(aliases.get(str(mv["version"]), []))),
                {tag["key"]: tag["value"] for tag in mv.get("tags", [])},
            )
            for mv in (body or {}).get("model_versions", [])
        ]
        return sorted(found, key=lambda mv: int(mv.version), reverse=True)

    def download(self, name: str, version: str, relative_path: str, dest: Path | None = None) -> Path:
        """Download one file of a model version (path relative to the model's root)."""
        body = self._get("/api/2.0/mlflow/model-versions/get-download-uri", {"name": name, "version": version})
        if body is None:
            raise RegistryError(f"model {name} version {version} does not exist")
        uri = body["artifact_uri"]
        if not uri.startswith(ARTIFACT_SCHEME):
            raise RegistryError(f"{uri} is not served by the tracking server's artifact proxy")
        path = uri[len(ARTIFACT_SCHEME) :].lstrip("/") + "/" + relative_path
        url = f"{self.base}/api/2.0/mlflow-artifacts/artifacts/{quote(path)}"
        dest = dest or Path(tempfile.mkdtemp(prefix=f"kaizen-{name}-{version}-")) / Path(relative_path).name
        with self.http.get(url, stream=True, timeout=self.timeout_s) as response:
            if response.status_code != 200:
                raise RegistryError(f"downloading {path} failed: HTTP {response.status_code} {response.text[:200]}")
            with dest.open("wb") as f:
                for chunk in response.iter_content(1 << 20):
                    f.write(chunk)
        return dest

    def _get(self, path: str, params: dict) -> dict | None:
        try:
            response = self.http.get(self.base + path, params=params, timeout=self.timeout_s)
        except requests.RequestException as exc:
            raise RegistryError(f"MLflow at {self.base} unreachable: {exc}") from exc
        if response.status_code == 404 or (
            response.status_code in (400, 404) and "RESOURCE_DOES_NOT_EXIST" in response.text
        ):
            return None
        if response.status_code != 200:
            raise RegistryError(f"MLflow {path} answered {response.status_code}: {response.text[:300]}")
        return response.json()

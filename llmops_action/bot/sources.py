"""A repository's files at one commit, fetched through the API into a temporary folder: data, never code.

GET /repos/{owner}/{repo}/tarball/{ref} answers 302 to a short-lived download link; the archive is read
with tarfile's "data" filter (no absolute paths, no links out of the tree, no devices), and its one
top-level folder (`owner-repo-sha/`) is dropped. Nothing in it is ever imported or executed.
https://docs.github.com/rest/repos/contents#download-a-repository-archive-tar
"""

from __future__ import annotations

import io
import tarfile
from pathlib import Path

import requests

from llmops_action.adapters.github import GitHubClient
from llmops_action.errors import UserInputError

MAX_ARCHIVE_BYTES = 200 * 1024 * 1024


def fetch_tree(client: GitHubClient, token: str, sha: str, dest: Path, *, api_url: str) -> Path:
    """Extract the repository at `sha` into `dest` and return `dest`."""
    url = f"{api_url.rstrip('/')}/repos/{client.repo_name}/tarball/{sha}"
    headers = {"Authorization": f"token {token}", "Accept": "application/vnd.github+json"}

    def download() -> bytes:
        # requests drops the Authorization header when the redirect leaves the API's host, as it should.
        try:
            resp = requests.get(url, headers=headers, timeout=60, allow_redirects=True, stream=True)
        except requests.RequestException as exc:
            # The download link carries a short-lived token in its query: never let it reach a message.
            raise requests.ConnectionError(
                f"downloading the archive of {sha[:12]} failed: {type(exc).__name__}"
            ) from None
        if resp.status_code >= 400:
            from github import GithubException

            raise GithubException(resp.status_code, {"message": resp.text[:200]}, dict(resp.headers))
        data = resp.raw.read(MAX_ARCHIVE_BYTES + 1, decode_content=True)
        if len(data) > MAX_ARCHIVE_BYTES:
            raise UserInputError(f"the repository archive at {sha[:12]} is over {MAX_ARCHIVE_BYTES} bytes")
        return bytes(data)

    data = client._call("read", download)
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
        members = []
        for m in tar.getmembers():
            parts = Path(m.name).parts
            if len(parts) < 2 or m.name.startswith("/") or ".." in parts:
                continue  # the top-level folder itself, or something no archive of GitHub's holds
            if not (m.isfile() or m.isdir()):
                continue  # links and devices are not data we read
            m.name = str(Path(*parts[1:]))
            members.append(m)
        tar.extractall(dest, members=members, filter="data")
    return dest

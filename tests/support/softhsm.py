"""pytest fixtures over the SoftHSM2 helper (:mod:`ecopy.devtools.softhsm`): list this module in a
test module's ``pytest_plugins`` to get ``softhsm`` and ``softhsm_token``."""

from __future__ import annotations

import pytest

from ecopy.devtools.softhsm import SoftHsm, SoftHsmError, dev_token, process_softhsm
from pipeline.certify.pkcs11_token import Pkcs11KeySpec


@pytest.fixture(scope="session")
def softhsm() -> SoftHsm:
    """This process's SoftHSM2 store; fails (never skips) when softhsm2 is not installed."""
    try:
        return process_softhsm()
    except SoftHsmError as e:
        pytest.fail(f"cannot set up SoftHSM2 for the tests: {e}", pytrace=False)


@pytest.fixture(scope="session")
def softhsm_token(softhsm: SoftHsm) -> tuple[Pkcs11KeySpec, bytes, bytes]:
    """(spec, root_pem, cert_pem): a dev-PKI EC P-256 signer on its own token."""
    token = dev_token()
    return token.spec, token.root_pem, token.cert_pem

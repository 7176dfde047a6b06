import pytest
import torch


@pytest.fixture(autouse=True)
def single_torch_thread():
    """Training tests run on shared CPUs: one thread is faster and steadier there."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)

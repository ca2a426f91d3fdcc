"""Operations: `storywatch sources`, `status` and `eval` (the commands and the work behind them), and who
this worker is (its id, and the leases dead workers on this host left behind)."""

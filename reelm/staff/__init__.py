"""Staff access: role grants, break-glass justifications and Cedar-gated reads of protected data."""

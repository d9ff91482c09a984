"""The demo county (seed-demo): its people, accounts and three months of visit history."""

"""From a reported URL to its removal: inspection, jurisdiction, partners, holds, notices, verification."""

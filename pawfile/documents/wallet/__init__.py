"""Apple Wallet and Google Wallet cards of a pet.

``data.pass_content`` gathers what a card shows (the same for both wallets) for a member of
the pet's household; ``apple.pkpass_build`` makes the signed ``.pkpass`` archive and
``google.save_url`` the "Save to Google Wallet" link (a signed JWT; no call to Google is made:
the user's browser opens the link). Both read their keys from settings through
``apple.apple_signer`` / ``google.google_signer``, which say what is missing or broken
(``WalletNotConfigured`` / ``WalletConfigBroken``) instead of failing with a 500.

Passes are generated on request and never stored: there is nothing of them to export or
delete.
"""

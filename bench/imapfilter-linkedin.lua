-- Peer baseline: imapfilter (Debian package) selecting the messages from
-- invitations@linkedin.com in INBOX and fetching each one's full text, as a user's
-- imapfilter config would. Copied from the verified test-server recipe
-- (baselines/imapfilter-linkedin.lua). fetch_message() issues one UID FETCH per message.
-- run:  HOME=<scratch> imapfilter -t "$MAILTEST_CA" -c bench/imapfilter-linkedin.lua </dev/null
--       (imapfilter ignores SSL_CERT_FILE: -t is required; it writes ~/.imapfilter)
-- env:  IMAP_HOST IMAPS_PORT IMAP_USER IMAP_PASSWORD [LI_FROM]
--       [LI_SELECT=same: select what invite-digest selects, see below]
options.timeout = 120
options.info = false
options.certificates = false   -- never prompt/store certificates (verified against -t CAFILE)
options.hostnames = true       -- verify the server name (the test cert has IP:127.0.0.1)
options.create = false
options.close = false
options.expunge = false

local acc = IMAP {
  server   = os.getenv('IMAP_HOST') or '127.0.0.1',
  port     = tonumber(os.getenv('IMAPS_PORT') or '10993'),
  username = os.getenv('IMAP_USER') or 'alice',
  password = os.getenv('IMAP_PASSWORD') or 'alicepw',
  ssl      = 'auto',           -- implicit TLS (IMAPS)
}

local results
if os.getenv('LI_SELECT') == 'same' then
  -- What invite-digest selects (its SEARCH_CRITERIA: look-alike senders too, with the
  -- same HEADER From criteria), as an imapfilter user writes it: one UID SEARCH per rule,
  -- the union taken by imapfilter.
  results = acc.INBOX:contain_field('From', 'linkedin') + acc.INBOX:contain_field('From', 'linkedln')
            + acc.INBOX:contain_subject('linkedin')
else
  results = acc.INBOX:contain_from(os.getenv('LI_FROM') or 'invitations@linkedin.com')
end
local n, bytes = 0, 0
for _, m in ipairs(results) do
  local mbox, uid = table.unpack(m)
  local msg = mbox[uid]:fetch_message()
  if msg then n = n + 1; bytes = bytes + #msg end
end
print(string.format('imapfilter: matched=%d fetched=%d bytes=%d', #results, n, bytes))

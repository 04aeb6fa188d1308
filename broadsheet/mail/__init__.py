"""Mail building: everything that turns an article into the bytes handed to the relay, and the
checks made on those bytes before a campaign goes out.

Campaign, confirmation and welcome mail takes one path:

1. Render once: `rendering.render_email` renders an email folder of templates/email/ and
   inlines its CSS, with placeholders for the personal fields (`compose.render_campaign`; the
   campaign stores the result when it is prepared; `personal` turns the editor's
   `{{ reader.* }}` into placeholders first).
2. Skeleton: `skeleton.MessageSkeleton` builds every header and MIME part that is the same for
   all readers, once per campaign (`compose.campaign_skeleton`), or once per process for the
   confirmation and each welcome.
3. Per reader: `MessageSkeleton.render` substitutes one `Recipient`'s fields (name, address,
   unsubscribe or confirm URL, Message-ID, from `compose.campaign_recipient`).
4. DKIM: the skeleton's `dkim.DkimSigner` signs each message as it is rendered.

The worker sends what this path makes; `preview` takes the same path for a sample reader (the
admin's preview) or a typed address (a test send), and `checks` judge the previewed bytes.
Mail to one person now and then is built apart: an admin's campaign report renders its
email and a skeleton per message, and a reader's data goes as an attachment, built with the
standard library's EmailMessage.

| module | what it holds |
|---|---|
| `rendering` | the Jinja2 environment for templates/email/, CSS inlining, `RenderedEmail` |
| `plaintext` | HTML to readable text: the text/plain part |
| `skeleton` | placeholders, `Recipient`, `MessageSkeleton`, header encoding, Message-IDs |
| `compose` | campaign, confirmation and welcome messages: URLs, List-Id, the signer |
| `personal` | the reader fields an editor writes (`{{ reader.name }}`) as placeholders |
| `look` | a publication's or newsletter's logo and accent colour, light and dark, contrast |
| `dkim` | DKIM signatures (RFC 6376) and key checks |
| `preview` | the message as sent, for a sample reader or a test send, and taken apart to show |
| `checks` | the pre-send checks, each a pass, warn or fail with a sentence |
| `markup` | the rendered HTML scanned once for the checks: images, links, addresses |
| `link_report` | the shape of the worker's link check report, read by the checks |
| `campaign_report` | the report admins get when a campaign is sent or pauses itself |
| `my_data` | the email that brings a reader the data kept about them, as a JSON attachment |

Article Markdown is not here: it is rendered when an article is saved and shown on the web
pages as well as in mail (broadsheet/markdown.py).
"""

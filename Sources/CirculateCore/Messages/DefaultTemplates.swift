/// The default message templates, built in so that an installed binary works without a templates/ folder.
/// They are exact copies of templates/*.mustache (a test keeps them identical); a configured folder overrides them.
enum DefaultTemplates {
    // The empty line before each closing delimiter is the file's final newline: Swift drops the line break that
    // directly precedes a closing """.
    /// templates/message.html.mustache
    static let html = #"""
<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{subject}}</title>
</head>
<body style="margin:0; padding:0; background:#f4f4f1;">
<div style="max-width:640px; margin:0 auto; padding:24px; background:#ffffff; font-family:Georgia, 'Times New Roman', serif; font-size:17px; line-height:1.5; color:#222222;">
<p style="margin:0 0 16px 0; font-size:14px; color:#555555;">{{community}}</p>
{{#greeting}}<p>Dear {{greeting}},</p>
{{/greeting}}{{{body}}}
{{#closing}}<p>{{closing}}</p>
{{/closing}}<hr style="border:none; border-top:1px solid #dddddd; margin:32px 0 16px 0;">
<p style="font-size:13px; color:#555555;">{{footer}}</p>
<p style="font-size:13px; color:#555555;">To stop receiving these emails, <a href="{{unsubscribe_link}}">unsubscribe here</a>{{#unsubscribe_mailto_only}} (this opens an email to us; just send it){{/unsubscribe_mailto_only}}, or reply and tell us.</p>
</div>
</body>
</html>

"""#

    /// templates/message.txt.mustache
    static let text = #"""
{{% CONTENT_TYPE: TEXT}}
{{community}}

{{#greeting}}Dear {{greeting}},

{{/greeting}}{{body}}
{{#closing}}

{{closing}}
{{/closing}}

--
{{footer}}
To stop receiving these emails: {{unsubscribe_link}}
or reply and tell us.

"""#
}

namespace PhiMailGateway.Ingress;

/// <summary>One SMTP reply: a three-digit code and its text (which starts with the enhanced status code, RFC 3463).</summary>
public readonly record struct SmtpReply(int Code, string Text)
{
    public bool IsSuccess => Code is >= 200 and < 400;

    public override string ToString() => $"{Code} {Text}";

    public static readonly SmtpReply Ok = new(250, "2.0.0 Ok");
    public static readonly SmtpReply LineTooLong = new(500, "5.5.2 line too long");
    public static readonly SmtpReply TooManyErrors = new(421, "4.7.0 too many errors, closing connection");
    public static readonly SmtpReply TimedOut = new(421, "4.4.2 idle too long, closing connection");
    public static readonly SmtpReply ShuttingDown = new(421, "4.3.2 service shutting down, try again later");
    public static readonly SmtpReply Evicted = new(421, "4.7.0 too many connections, closing this idle one");
    public static readonly SmtpReply TooManyFromAddress = new(421, "4.7.0 too many connections from your address");
    public static readonly SmtpReply TooManySessions = new(421, "4.3.2 too many connections, try again later");
    public static readonly SmtpReply TooManyRecipients = new(452, "4.5.3 Too many recipients");
    public static readonly SmtpReply TooLarge = new(552, "5.3.4 Message too big for this gateway");
    public static readonly SmtpReply BareCr = new(550, "5.6.11 bare CR not allowed");
    public static readonly SmtpReply HeaderLineTooLong = new(552, "5.6.0 header line too long");
    public static readonly SmtpReply TooManyHeaders = new(552, "5.6.0 too many header fields");
}

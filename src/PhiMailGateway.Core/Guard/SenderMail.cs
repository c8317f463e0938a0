using PhiMailGateway.Pipeline;
using PhiMailGateway.Protection.Pickup;
using PhiMailGateway.Queue;

namespace PhiMailGateway.Guard;

/// <summary>
/// What the guard commits with a processed message besides its copies: the copies it holds, the
/// sender's link (one per message; the token goes only into the mails, storage keeps its SHA-256),
/// the "please check the address" notice when anything is held (whatever Guard:Receipts says), and
/// the receipt (Guard:Receipts: Attention when a copy was held or flagged, Always, Off). Also when
/// each copy with images may leave (Guard:SendDelay), so the receipt's Recall can stop it.
/// </summary>
public sealed class SenderMail(GuardOptions options, PickupOptions pickup, GuardNotices notices, TimeProvider time)
{
    /// <summary>When the copies of this message may leave: later than now only for images while Guard:SendDelay is set.</summary>
    public DateTimeOffset? SendAfter(ProcessedMessage processed) =>
        processed.Report.HasDentalImage && options.SendDelay > TimeSpan.Zero ? time.GetUtcNow() + options.SendDelay : null;

    /// <param name="holdIdPrefix">Names the holds (<c>{prefix}-H{n}</c>): the queue id on arrival; a
    /// TLS-first copy's delivery id when its fallback holds, so the ids stay unique within the message.</param>
    /// <param name="mayReceipt">False when the message's receipt went already (a fallback later on): only a hold notice then.</param>
    public async Task<PreparedSenderMail> PrepareAsync(ProcessedMessage processed, CancellationToken cancellationToken,
        string? holdIdPrefix = null, bool mayReceipt = true)
    {
        var now = time.GetUtcNow();
        var sender = processed.Envelope.Sender;
        var held = processed.Guard.Held.ToList();
        var prefix = holdIdPrefix ?? processed.QueueId;
        var holds = held.Select((v, i) => new NewGuardHold($"{prefix}-H{i + 1}", v.Recipient, v.Reasons, now + options.ConfirmWindow)).ToList();
        var receipt = mayReceipt && processed.Report.HasDentalImage && options.Receipts switch
        {
            GuardReceipts.Always => true,
            GuardReceipts.Attention => processed.Guard.Verdicts.Any(v => v.Outcome != GuardOutcome.Pass),
            _ => false,
        };
        if (!notices.Notifies(sender) || (holds.Count == 0 && !receipt)) return new PreparedSenderMail(new GuardRecords(holds, null), []);

        var token = PickupSecrets.NewToken();
        var window = options.ConfirmWindow > pickup.LinkLifetime ? options.ConfirmWindow : pickup.LinkLifetime;
        var link = new NewSenderLink(PickupSecrets.Hash(token), now + window + options.SendDelay);
        var mails = new List<NewDelivery>();
        try
        {
            if (await notices.HeldAsync(processed.QueueId, sender, holds, token, othersWent: processed.Copies.Count > 0, cancellationToken) is { } notice)
                mails.Add(notice);
            if (receipt && await notices.ReceiptAsync(processed, holds, token, SendAfter(processed), cancellationToken) is { } sent)
                mails.Add(sent);
        }
        catch
        {
            foreach (var mail in mails) GuardNotices.Discard(mail);
            throw;
        }
        return new PreparedSenderMail(new GuardRecords(holds, link), mails);
    }
}

/// <param name="Mails">The hold notice and the receipt, as deliveries of the message (null reverse-path).</param>
public sealed record PreparedSenderMail(GuardRecords Records, IReadOnlyList<NewDelivery> Mails);

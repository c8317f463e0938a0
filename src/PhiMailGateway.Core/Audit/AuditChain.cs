using System.Buffers.Binary;
using System.Globalization;
using System.Text;

namespace PhiMailGateway.Audit;

/// <summary>
/// The canonical content each MAC covers, defined field by field so that no serializer's property
/// order or formatting can change it. Encoding: a record-type label, then for every stored column
/// (except prev_mac and mac themselves, which enter the MAC separately) in the order listed below:
/// <c>u32be(len(name)) name</c>, then <c>0x00</c> for NULL or <c>0x01 u32be(len(value)) value</c>,
/// all strings UTF-8, integers as invariant decimal text. A disclosure also covers its patient
/// lookups (sorted ordinally, joined with ','), so a lookup row cannot be added or removed unseen.
/// <para>
/// Chain: one sequence across <c>disclosures</c> and <c>audit_events</c>; seq starts at 1 and has
/// no gaps; the first row's prev_mac is <see cref="GenesisMac"/>; each next row's prev_mac is the
/// previous row's mac. seq is itself a field, so moving a row to another place breaks its MAC.
/// </para>
/// </summary>
public static class AuditChain
{
    public static readonly string GenesisMac = new('0', 64);

    public const string DisclosureLabel = "PhiMailGateway/audit/disclosure/v1";
    public const string EventLabel = "PhiMailGateway/audit/event/v1";

    public static byte[] Canonical(DisclosureRow r)
    {
        var w = new Writer(DisclosureLabel);
        w.Field("seq", r.Seq);
        w.Field("recorded_at", r.RecordedAt);
        w.Field("queue_id", r.QueueId);
        w.Field("message_id", r.MessageId);
        w.Field("delivery_id", r.DeliveryId);
        w.Field("authenticated_user", r.AuthenticatedUser);
        w.Field("sender", r.Sender);
        w.Field("recipient", r.Recipient);
        w.Field("recipient_name", r.RecipientName);
        w.Field("action", r.Action);
        w.Field("rule_name", r.RuleName);
        w.Field("purpose", r.Purpose);
        w.Field("reference", r.Reference);
        w.Field("phi_count", r.PhiCount);
        w.Field("phi_kinds", r.PhiKinds);
        w.Field("phi_parts", r.PhiParts);
        w.Field("patients_enc", r.PatientsEnc);
        w.Field("key_id", r.KeyId);
        w.Field("patient_lookups", string.Join(',', r.PatientLookups.Order(StringComparer.Ordinal)));
        return w.ToArray();
    }

    public static byte[] Canonical(AuditEventRow r)
    {
        var w = new Writer(EventLabel);
        w.Field("seq", r.Seq);
        w.Field("recorded_at", r.RecordedAt);
        w.Field("type", r.Type);
        w.Field("queue_id", r.QueueId);
        w.Field("delivery_id", r.DeliveryId);
        w.Field("recipient", r.Recipient);
        w.Field("detail", r.Detail);
        w.Field("package_id", r.PackageId);
        w.Field("client_address", r.ClientAddress);
        w.Field("user_agent", r.UserAgent);
        w.Field("file_sha256", r.FileSha256);
        return w.ToArray();
    }

    private sealed class Writer
    {
        private readonly MemoryStream _stream = new();

        public Writer(string label) => Field("record", label);

        public void Field(string name, long value) => Field(name, value.ToString(CultureInfo.InvariantCulture));

        public void Field(string name, string? value)
        {
            Bytes(Encoding.UTF8.GetBytes(name));
            if (value is null)
            {
                _stream.WriteByte(0);
                return;
            }
            _stream.WriteByte(1);
            Bytes(Encoding.UTF8.GetBytes(value));
        }

        private void Bytes(byte[] bytes)
        {
            Span<byte> length = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)bytes.Length);
            _stream.Write(length);
            _stream.Write(bytes);
        }

        public byte[] ToArray() => _stream.ToArray();
    }
}

using System.Buffers.Binary;
using System.Text;
using PhiMailGateway.Audit;

namespace PhiMailGateway.Tests.Audit;

/// <summary>
/// The bytes each audit MAC covers, rebuilt here from the encoding AuditChain documents (label,
/// then per column u32be(len(name)) name, 0x00 for NULL or 0x01 u32be(len(value)) value). The
/// sealer and the verifier share <see cref="AuditChain.Canonical(DisclosureRow)"/>, so a changed
/// field name or order would still verify a fresh log while every log written before the change
/// would fail `audit verify`: only a test against the written-down encoding notices.
/// </summary>
public class AuditChainTests
{
    /// <summary>An encoder written from the documentation, independent of the one under test.</summary>
    private static byte[] Documented(string label, params (string Name, string? Value)[] fields)
    {
        var bytes = new List<byte>();
        void Text(string s)
        {
            var utf8 = Encoding.UTF8.GetBytes(s);
            var length = new byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(length, (uint)utf8.Length);
            bytes.AddRange(length);
            bytes.AddRange(utf8);
        }
        foreach (var (name, value) in new[] { ("record", (string?)label) }.Concat(fields))
        {
            Text(name);
            if (value is null) bytes.Add(0);
            else
            {
                bytes.Add(1);
                Text(value);
            }
        }
        return [.. bytes];
    }

    [Test]
    public void AuditChain_DisclosureCanonical_IsTheDocumentedEncodingOfEveryColumn()
    {
        var row = new DisclosureRow
        {
            Seq = 7, RecordedAt = 1_767_225_600_123, QueueId = "Q1", MessageId = "<m@practice.example>", DeliveryId = "Q1-1",
            AuthenticatedUser = "frontdesk", Sender = "office@practice.example", Recipient = "dr.lee@specialist.example",
            RecipientName = "Dr Lée", Action = "Pickup", RuleName = "images-pickup", Purpose = "Treatment", Reference = "P1",
            PhiCount = 2, PhiKinds = "Dicom", PhiParts = "Dicom|DICOM|1|ab", PatientsEnc = "enc", KeyId = "k1",
            PatientLookups = ["bb", "aa", "ab"],
        };

        var expected = Documented(AuditChain.DisclosureLabel,
            ("seq", "7"), ("recorded_at", "1767225600123"), ("queue_id", "Q1"), ("message_id", "<m@practice.example>"), ("delivery_id", "Q1-1"),
            ("authenticated_user", "frontdesk"), ("sender", "office@practice.example"), ("recipient", "dr.lee@specialist.example"),
            ("recipient_name", "Dr Lée"), ("action", "Pickup"), ("rule_name", "images-pickup"), ("purpose", "Treatment"), ("reference", "P1"),
            ("phi_count", "2"), ("phi_kinds", "Dicom"), ("phi_parts", "Dicom|DICOM|1|ab"), ("patients_enc", "enc"), ("key_id", "k1"),
            ("patient_lookups", "aa,ab,bb"));
        Assert.That(AuditChain.Canonical(row), Is.EqualTo(expected), "field names, order, UTF-8 lengths and the sorted lookups are the stored format");
    }

    [Test]
    public void AuditChain_DisclosureWithNullColumns_EncodesThemAsNull()
    {
        var row = new DisclosureRow { Seq = 1, RecordedAt = 5, QueueId = "Q", Sender = "s", Recipient = "r", Action = "Relay", KeyId = "k" };

        var expected = Documented(AuditChain.DisclosureLabel,
            ("seq", "1"), ("recorded_at", "5"), ("queue_id", "Q"), ("message_id", null), ("delivery_id", null), ("authenticated_user", null),
            ("sender", "s"), ("recipient", "r"), ("recipient_name", null), ("action", "Relay"), ("rule_name", null), ("purpose", null),
            ("reference", null), ("phi_count", "0"), ("phi_kinds", ""), ("phi_parts", ""), ("patients_enc", null), ("key_id", "k"),
            ("patient_lookups", ""));
        Assert.That(AuditChain.Canonical(row), Is.EqualTo(expected));
    }

    [Test]
    public void AuditChain_EventCanonical_IsTheDocumentedEncodingOfEveryColumn()
    {
        var row = new AuditEventRow
        {
            Seq = 12, RecordedAt = 99, Type = "PickupDownloaded", QueueId = null, DeliveryId = "Q1-1", Recipient = "dr.lee@specialist.example",
            Detail = "file 0", PackageId = "P1", ClientAddress = "192.0.2.1", UserAgent = "Mozilla/5.0", FileSha256 = "ab12",
        };

        var expected = Documented(AuditChain.EventLabel,
            ("seq", "12"), ("recorded_at", "99"), ("type", "PickupDownloaded"), ("queue_id", null), ("delivery_id", "Q1-1"),
            ("recipient", "dr.lee@specialist.example"), ("detail", "file 0"), ("package_id", "P1"), ("client_address", "192.0.2.1"),
            ("user_agent", "Mozilla/5.0"), ("file_sha256", "ab12"));
        Assert.That(AuditChain.Canonical(row), Is.EqualTo(expected));
    }

    [Test]
    public void AuditChain_LabelsAndGenesis_AreTheStoredConstants()
    {
        Assert.That((AuditChain.DisclosureLabel, AuditChain.EventLabel), Is.EqualTo(("PhiMailGateway/audit/disclosure/v1", "PhiMailGateway/audit/event/v1")));
        Assert.That(AuditChain.GenesisMac, Is.EqualTo(new string('0', 64)));
    }
}

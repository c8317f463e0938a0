using PhiMailGateway.Audit;

namespace PhiMailGateway.Tests.Audit;

public class AccountingWriterTests
{
    [TestCase("=SUM(A1:A2)", "'=SUM(A1:A2)")]
    [TestCase("+1", "'+1")]
    [TestCase("-1", "'-1")]
    [TestCase("@cmd", "'@cmd")]
    [TestCase("\tx", "'\tx")]
    [TestCase("\rx", "\"'\rx\"")]
    [TestCase("=A1,B1", "\"'=A1,B1\"")]
    [TestCase("a \"b\"", "\"a \"\"b\"\"\"")]
    [TestCase("line\nbreak", "\"line\nbreak\"")]
    [TestCase("TEST^PATIENT", "TEST^PATIENT")]
    [TestCase("", "")]
    public void CsvField_Value_IsQuotedAndNeutralised(string value, string expected) =>
        Assert.That(AccountingWriter.CsvField(value), Is.EqualTo(expected));

    [Test]
    public void CsvRow_Cells_JoinedWithCommaAndEndedWithCrlf() =>
        Assert.That(AccountingWriter.CsvRow(["a", "b,c", "=d"]), Is.EqualTo("a,\"b,c\",'=d\r\n"));

    [Test]
    public void AuditChain_NullAndEmptyAndShiftedFields_SerializeDifferently()
    {
        var a = AuditChain.Canonical(new AuditEventRow { Seq = 1, Type = "Relayed", Detail = null });
        var b = AuditChain.Canonical(new AuditEventRow { Seq = 1, Type = "Relayed", Detail = "" });
        var c = AuditChain.Canonical(new AuditEventRow { Seq = 1, Type = "Relayed", QueueId = "ab", DeliveryId = "c" });
        var d = AuditChain.Canonical(new AuditEventRow { Seq = 1, Type = "Relayed", QueueId = "a", DeliveryId = "bc" });
        Assert.That(a, Is.Not.EqualTo(b));
        Assert.That(c, Is.Not.EqualTo(d));
        Assert.That(AuditChain.Canonical(new AuditEventRow { Seq = 1, Type = "Relayed" }), Is.EqualTo(a), "deterministic");
    }
}

namespace PhiMailGateway.Audit;

/// <summary>The newest row of the chain: its seq and mac; seq 0 and <see cref="AuditChain.GenesisMac"/> when empty.</summary>
public sealed record ChainHead(long Seq, string Mac)
{
    public static readonly ChainHead Genesis = new(0, AuditChain.GenesisMac);
}

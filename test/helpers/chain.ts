/**
 * A local Ethereum chain for the flexibility tests: ganache in this process, its JSON-RPC server on 127.0.0.1 at a
 * random port, instant mining, quiet logs, and the ERC-1056 EthereumDIDRegistry deployed from the artifact
 * published in the `ethr-did-registry` package (the bytecode everyone deploys, not a copy). The first ganache
 * account is the operator: it deploys the registry and relays the assets' signed writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ganache from 'ganache';
import { ContractFactory, FetchRequest, JsonRpcProvider, Network, Wallet } from 'ethers';
import { packageRoot } from '../../src/config/load.js';

export interface TestChain {
  rpcUrl: string;
  chainId: number;
  network: string;
  registryAddress: string;
  operatorPrivateKey: string;
  stop(): Promise<void>;
}

const CHAIN_ID = 1337;

export function registryArtifact(): { abi: unknown[]; bytecode: string } {
  const path = join(packageRoot(), 'node_modules', 'ethr-did-registry', 'artifacts', 'contracts', 'EthereumDIDRegistry.sol', 'EthereumDIDRegistry.json');
  return JSON.parse(readFileSync(path, 'utf8')) as { abi: unknown[]; bytecode: string };
}

export async function startTestChain(options: { blockTimeS?: number } = {}): Promise<TestChain> {
  const miner = options.blockTimeS !== undefined && options.blockTimeS > 0 ? { blockTime: options.blockTimeS } : { instamine: 'eager' as const };
  const server = ganache.server({
    logging: { quiet: true },
    chain: { chainId: CHAIN_ID },
    miner,
    wallet: { totalAccounts: 1, defaultBalance: 1000 },
  });
  await server.listen(0, '127.0.0.1');
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await server.close();
  };
  try {
    const { port } = server.address() as { port: number };
    const rpcUrl = `http://127.0.0.1:${port}`;
    const accounts = server.provider.getInitialAccounts();
    const operatorPrivateKey = Object.values(accounts)[0]?.secretKey;
    if (operatorPrivateKey === undefined) throw new Error('ganache started without an account');
    const network = Network.from(CHAIN_ID);
    const provider = new JsonRpcProvider(new FetchRequest(rpcUrl), network, { staticNetwork: network, pollingInterval: 100 });
    try {
      const { abi, bytecode } = registryArtifact();
      const factory = new ContractFactory(abi as never, bytecode, new Wallet(operatorPrivateKey, provider));
      const registry = await factory.deploy();
      await registry.waitForDeployment();
      return { rpcUrl, chainId: CHAIN_ID, network: `0x${CHAIN_ID.toString(16)}`, registryAddress: await registry.getAddress(), operatorPrivateKey, stop };
    } finally {
      provider.destroy();
    }
  } catch (err) {
    await stop();
    throw err;
  }
}

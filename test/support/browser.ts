/**
 * A real Chromium for the browser tests, brought by `npm ci` (no apt step, no download): the
 * `@sparticuz/chromium` package ships a headless Chromium build and the shared libraries it needs
 * (libnss3, libnspr4, libexpat…) as Brotli files. The package unpacks those libraries only where it
 * detects Amazon Linux, so this helper unpacks the binary, the libraries and the fonts itself, once,
 * into node_modules/.cache, and launches with LD_LIBRARY_PATH pointing at the libraries and the
 * package's own flags, driven by playwright-core.
 */
import { spawnSync } from "node:child_process";
import {
	createReadStream,
	createWriteStream,
	existsSync,
	mkdirSync,
	readFileSync,
	renameSync,
	rmSync,
	writeFileSync,
} from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pipeline } from "node:stream/promises";
import { fileURLToPath } from "node:url";
import { brotliDecompressSync, createBrotliDecompress } from "node:zlib";
import chromiumPackage from "@sparticuz/chromium";
import { type Browser, chromium } from "playwright-core";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const require = createRequire(import.meta.url);

/** The package's folder: the one above its entry point that holds its package.json (which it does not export). */
function packageDir(): string {
	let dir = dirname(require.resolve("@sparticuz/chromium"));
	while (!existsSync(join(dir, "package.json")) || !existsSync(join(dir, "bin"))) {
		const parent = dirname(dir);
		if (parent === dir) throw new Error("@sparticuz/chromium's folder not found: run npm ci");
		dir = parent;
	}
	return dir;
}

function packageVersion(): string {
	return (JSON.parse(readFileSync(join(packageDir(), "package.json"), "utf8")) as { version: string }).version;
}

/** Unpacks a Brotli-compressed tar file into `dir` (tar reads the decompressed archive on its stdin). */
function untarBrotli(brotliFile: string, dir: string): void {
	mkdirSync(dir, { recursive: true });
	const archive = brotliDecompressSync(readFileSync(brotliFile));
	const tar = spawnSync("tar", ["-x", "-C", dir], { input: archive, stdio: ["pipe", "ignore", "pipe"] });
	if (tar.error) throw tar.error;
	if (tar.status !== 0) throw new Error(`tar -x of ${brotliFile} exited ${tar.status}: ${tar.stderr.toString()}`);
}

export interface UnpackedChromium {
	readonly executablePath: string;
	/** The shared libraries' folder, for LD_LIBRARY_PATH. */
	readonly libraryDir: string;
	/** fontconfig's configuration folder (FONTCONFIG_PATH). */
	readonly fontsDir: string;
}

/**
 * Unpacks the package's Chromium once per version (into a temporary folder renamed into place,
 * so two test files starting together never see half a binary).
 */
export async function unpackChromium(): Promise<UnpackedChromium> {
	const target = join(ROOT, "node_modules", ".cache", `sparticuz-chromium-${packageVersion()}`);
	const unpacked = {
		executablePath: join(target, "chromium"),
		libraryDir: join(target, "al2023", "lib"),
		fontsDir: join(target, "fonts"),
	};
	if (existsSync(unpacked.executablePath)) return unpacked;
	const staging = `${target}.${process.pid}.tmp`;
	rmSync(staging, { recursive: true, force: true });
	mkdirSync(staging, { recursive: true });
	const bin = join(packageDir(), "bin");
	await pipeline(
		createReadStream(join(bin, "chromium.br")),
		createBrotliDecompress(),
		createWriteStream(join(staging, "chromium"), { mode: 0o755 }),
	);
	untarBrotli(join(bin, "al2023.tar.br"), join(staging, "al2023"));
	untarBrotli(join(bin, "fonts.tar.br"), join(staging, "fonts"));
	// The package's fonts.conf names /tmp/fonts; this one names where they are now.
	writeFileSync(
		join(staging, "fonts", "fonts.conf"),
		`<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "fonts.dtd">\n<fontconfig>\n  <dir>${join(target, "fonts", "fonts")}</dir>\n  <cachedir>${join(target, "fonts-cache")}</cachedir>\n</fontconfig>\n`,
	);
	// SwiftShader's libraries go beside the binary, where Chromium looks for them.
	untarBrotli(join(bin, "swiftshader.tar.br"), staging);
	try {
		renameSync(staging, target);
	} catch (error) {
		// Another test process won the race: its copy is complete.
		rmSync(staging, { recursive: true, force: true });
		if (!existsSync(unpacked.executablePath)) throw error;
	}
	return unpacked;
}

/** Launches the unpacked Chromium headless with the package's flags. */
export async function launchChromium(): Promise<Browser> {
	const unpacked = await unpackChromium();
	const libraryPath = [unpacked.libraryDir, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":");
	return chromium.launch({
		executablePath: unpacked.executablePath,
		args: chromiumPackage.args,
		headless: true,
		env: {
			...process.env,
			LD_LIBRARY_PATH: libraryPath,
			FONTCONFIG_PATH: unpacked.fontsDir,
		},
		timeout: 30_000,
	});
}

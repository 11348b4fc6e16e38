/**
 * The twincard applet as seen from the host: one method per command of docs/protocol.md section 6.
 * Each method checks its arguments, sends the command through an {@link ApduChannel} (ISO chaining
 * is the channel's job), turns any status word but 9000 into a typed error, and parses the answer
 * strictly: every byte a card returns is hostile until it has been read as the protocol says.
 *
 * Works over any {@link ApduTransport}: a PC/SC card, a traced one, a transcript replay.
 * @module
 */
import {
  ApduChannel,
  command,
  encodeProtocolTlvs,
  SW_OK,
  TlvError,
  TlvRecord,
  type ApduTransport,
  type ChannelOptions,
  type CommandApdu,
  type LengthSpec,
} from '../apdu/index.js';
import type { Certificate } from './certificate.js';
import {
  cardStateName,
  CLA_PROPRIETARY,
  CLA_WRAPPED,
  ImportResult,
  Ins,
  IsoSw,
  PROTOCOL_VERSION,
  Size,
  Tag,
  TWINCARD_AID,
  WalletOrigin,
  type CardStateName,
  type CommandName,
} from './constants.js';
import { checkLength, checkWalletSignature, equalBytes, parseDerSignature, validatePublicKey, type WalletSignature } from './crypto.js';
import {
  CardRefusedError,
  CardSignatureError,
  InvalidPointError,
  MalformedResponseError,
  PinBlockedError,
  SessionClosedError,
  SignatureFormatError,
  UnsupportedVersionError,
  WrongPinError,
} from './errors.js';
import { createSessionOffer, establishSession, type CardSession } from './session.js';

/** What SELECT answers. */
export interface SelectInfo {
  readonly version: number;
  readonly state: CardStateName;
}

/** Where the wallet on a card came from. */
export type WalletOriginName = 'created' | 'imported';

/** What READ answers, checked for consistency with the card's state. */
export interface CardInfo {
  readonly version: number;
  readonly state: CardStateName;
  /** From BLANK on. */
  readonly cardId?: Uint8Array;
  /** The certificate's bytes, from BLANK on; parse and verify it with certificate.ts (attestation.ts does). */
  readonly certificate?: Uint8Array;
  /** In WALLET, BACKUP_EXPORTING and BACKED_UP. */
  readonly walletPublicKey?: Uint8Array;
  /** In WALLET, BACKUP_EXPORTING and BACKED_UP. */
  readonly walletOrigin?: WalletOriginName;
  /** A card whose wallet was imported: the id of the primary it came from. */
  readonly primaryId?: Uint8Array;
  readonly pinTriesLeft: number;
  readonly signCounter: number;
  /** Primary: the number of backup cards a wallet blob has left for (0..2); 0 on every other card. */
  readonly backupCount: number;
  /**
   * Primary: the ids of the backup cards a blob has left for, in the order of their first export
   * (invariant I2); `backupCount` of them, so empty on every other card.
   */
  readonly backupCardIds: readonly Uint8Array[];
}

/** BACKUP_PREPARE's answer: a backup card's ephemeral key, signed by its identity key. */
export interface PrepareOffer {
  /** EB, 65 bytes, a valid point. */
  readonly ephemeralKey: Uint8Array;
  /** The prepare signature, strict DER (NOT verified here: the caller knows the message and the key). */
  readonly signature: Uint8Array;
}

/** A backup card's certificate with its prepare offer: what BACKUP_EXPORT carries to the primary. */
export interface CertifiedPrepareOffer extends PrepareOffer {
  readonly certificate: Uint8Array;
}

/** BACKUP_EXPORT's answer: one wallet blob, sealed to one backup card's EB. */
export interface SealedExport {
  /** EP, 65 bytes, a valid point, made for this one export. */
  readonly ephemeralKey: Uint8Array;
  /** The seal signature, strict DER (NOT verified here). */
  readonly signature: Uint8Array;
  /** The 193-byte wallet blob (size checked only; its header is the caller's to check). */
  readonly blob: Uint8Array;
}

/** The primary's certificate with a sealed export: what BACKUP_IMPORT carries to the backup card. */
export interface CertifiedSealedExport extends SealedExport {
  readonly certificate: Uint8Array;
}

/** SIGN's result, verified. */
export interface SignResult extends WalletSignature {
  /** The card's signature counter after this signature. */
  readonly signCounter: number;
}

/** BACKUP_IMPORT's result. */
export interface ImportOutcome {
  readonly walletPublicKey: Uint8Array;
  /** True when the card had already imported this very blob (a retried step). */
  readonly alreadyImported: boolean;
}

/** PERSO_GENERATE's answer: the two key pairs the card made, to be certified by the manufacturer. */
export interface GeneratedKeys {
  readonly identityPublicKey: Uint8Array;
  readonly attestationPublicKey: Uint8Array;
}

export interface OpenSessionOptions {
  /**
   * eH instead of a fresh random one. ONLY for the worked examples and transcript replays: a card
   * makes a fresh eC every time, so this never makes a session replayable against a card.
   */
  readonly hostEphemeralSecret?: Uint8Array;
}

/** Options of a {@link TwincardCard}: the channel's, plus the session's source of randomness. */
export interface TwincardCardOptions extends ChannelOptions {
  /**
   * Where eH and the IVs of wrapped commands come from (default: the system CSPRNG). ONLY for recording
   * and replaying transcripts, where the same seeded bytes make the host send the same APDUs again; a
   * card makes a fresh EC every session, so this never makes a session replayable against a card.
   */
  readonly sessionRandom?: (length: number) => Uint8Array;
}

/** Words a card answers before its session check (section 3): the counter was not consumed. */
const BEFORE_SESSION_CHECK: ReadonlySet<number> = new Set([
  IsoSw.CLA_NOT_SUPPORTED,
  IsoSw.INS_NOT_SUPPORTED,
  IsoSw.INCORRECT_P1P2,
  IsoSw.WRAPPING_REQUIRED,
  IsoSw.WRAPPING_FORBIDDEN,
  IsoSw.CHAIN_TOO_LONG, // refused while the chain is collected, before the data is unwrapped
]);

const WALLET_STATES: ReadonlySet<CardStateName> = new Set(['WALLET', 'BACKUP_EXPORTING', 'BACKED_UP']);
const NE_MAX = 256;

/**
 * A twincard applet behind a transport.
 * @example
 * const card = new TwincardCard(pcscCard);
 * await card.select();
 * const info = await card.read();
 * await card.verifyPin(pin);
 * const { der, compact } = await card.sign(digest, info.walletPublicKey!);
 */
export class TwincardCard {
  readonly #channel: ApduChannel;
  readonly #random: ((length: number) => Uint8Array) | undefined;
  #session: CardSession | undefined;

  /**
   * @param transport bytes in, bytes out (a PC/SC card, a transcript replay, ...)
   * @param options channel options (command chaining size, extended length); the defaults suit
   *   the protocol, which uses short APDUs with chaining
   */
  constructor(transport: ApduTransport, options: TwincardCardOptions = {}) {
    const { sessionRandom, ...channel } = options;
    this.#channel = new ApduChannel(transport, channel);
    this.#random = sessionRandom;
  }

  /**
   * SELECT the applet by AID (`00 A4 04 00 0A F07477696E6361726401 00`). Clears the access-code
   * verification of a previous selection.
   * @returns the protocol version (always 2: another version is refused) and the card's state.
   * @throws CardRefusedError (e.g. `6A82` when the applet is not on the card); UnsupportedVersionError
   *   for a card of another protocol version; MalformedResponseError.
   * @example const { state } = await card.select(); // 'BLANK'
   */
  async select(): Promise<SelectInfo> {
    this.closeSession(); // a (re)selection closes the card's session (section 1.4)
    const data = await this.#send('SELECT', command(0x00, Ins.SELECT, 0x04, 0x00, TWINCARD_AID, NE_MAX));
    checkVersionFirst('SELECT', data);
    return this.#parse('SELECT', data, [Tag.VERSION, Tag.STATE], (r) => ({
      version: checkVersion('SELECT', r.required(Tag.VERSION, 1)),
      state: checkState('SELECT', r.required(Tag.STATE, 1)),
    }));
  }

  /**
   * READ the card's public status (`80 10 00 00 00`). The fields are checked against the state:
   * an id and certificate from BLANK on, a wallet key and origin exactly in the wallet states, a
   * primary id exactly for an imported wallet, backup card ids exactly when BACKUP_COUNT is not 0
   * (8 bytes each, distinct, none the card's own), and a count that only an exporting or finalized
   * primary may have.
   * @throws CardRefusedError; UnsupportedVersionError for a card of another protocol version;
   *   MalformedResponseError for anything the protocol does not allow.
   * @example const { state, cardId, walletPublicKey } = await card.read();
   */
  async read(): Promise<CardInfo> {
    const data = await this.#send('READ', this.#cmd(Ins.READ, undefined, NE_MAX));
    checkVersionFirst('READ', data);
    const allowed = [
      Tag.VERSION,
      Tag.STATE,
      Tag.CARD_ID,
      Tag.CERTIFICATE,
      Tag.WALLET_PUBLIC_KEY,
      Tag.WALLET_ORIGIN,
      Tag.PRIMARY_ID,
      Tag.PIN_TRIES_LEFT,
      Tag.SIGN_COUNTER,
      Tag.BACKUP_COUNT,
      Tag.BACKUP_CARD_IDS,
    ];
    return this.#parse('READ', data, allowed, (r) => {
      const version = checkVersion('READ', r.required(Tag.VERSION, 1));
      const state = checkState('READ', r.required(Tag.STATE, 1));
      const personalized = state !== 'FACTORY';
      const hasWallet = WALLET_STATES.has(state);
      const presence = (tag: number, name: string, expected: boolean, length: LengthSpec): Uint8Array | undefined => {
        const value = r.optional(tag, length);
        if ((value !== undefined) !== expected) {
          throw new MalformedResponseError('READ', `${name} ${expected ? 'missing' : 'present'} in state ${state}`);
        }
        return value;
      };
      const cardId = presence(Tag.CARD_ID, 'CARD_ID', personalized, Size.CARD_ID);
      const certificate = presence(Tag.CERTIFICATE, 'CERTIFICATE', personalized, {
        min: Size.CERTIFICATE_MIN,
        max: Size.CERTIFICATE_MAX,
      });
      const walletPublicKey = presence(Tag.WALLET_PUBLIC_KEY, 'WALLET_PUBLIC_KEY', hasWallet, Size.PUBLIC_KEY);
      const originByte = presence(Tag.WALLET_ORIGIN, 'WALLET_ORIGIN', hasWallet, 1);
      if (walletPublicKey !== undefined) validatePublicKey(walletPublicKey, 'wallet public key');
      const walletOrigin = originByte === undefined ? undefined : checkOrigin(originByte[0] as number, state);
      const primaryId = presence(Tag.PRIMARY_ID, 'PRIMARY_ID', walletOrigin === 'imported', Size.CARD_ID);
      if (primaryId !== undefined && cardId !== undefined && equalBytes(primaryId, cardId)) {
        throw new MalformedResponseError('READ', "PRIMARY_ID is the card's own id");
      }
      const pinTriesLeft = r.required(Tag.PIN_TRIES_LEFT, 1)[0] as number;
      if (pinTriesLeft > Size.PIN_TRIES) {
        throw new MalformedResponseError('READ', `PIN_TRIES_LEFT is ${pinTriesLeft}, more than ${Size.PIN_TRIES}`);
      }
      const signCounter = readUint32(r.required(Tag.SIGN_COUNTER, Size.SIGN_COUNTER));
      const backupCount = r.required(Tag.BACKUP_COUNT, 1)[0] as number;
      if (backupCount > Size.MAX_BACKUPS) {
        throw new MalformedResponseError('READ', `BACKUP_COUNT is ${backupCount}, more than ${Size.MAX_BACKUPS}`);
      }
      // Only a primary from which a blob has left counts backup cards: BACKUP_EXPORTING, or BACKED_UP
      // with a wallet it created (it went through BACKUP_EXPORTING, so at least one).
      const exported = state === 'BACKUP_EXPORTING' || (state === 'BACKED_UP' && walletOrigin === 'created');
      if (exported !== backupCount > 0) {
        throw new MalformedResponseError(
          'READ',
          `BACKUP_COUNT is ${backupCount} in state ${state}${state === 'BACKED_UP' ? ` (wallet ${walletOrigin ?? 'origin absent'})` : ''}`,
        );
      }
      const backupCardIds = readBackupCardIds(r, backupCount, cardId);
      return {
        version,
        state,
        ...(cardId && { cardId }),
        ...(certificate && { certificate }),
        ...(walletPublicKey && { walletPublicKey }),
        ...(walletOrigin && { walletOrigin }),
        ...(primaryId && { primaryId }),
        pinTriesLeft,
        signCounter,
        backupCount,
        backupCardIds,
      };
    });
  }

  /**
   * OPEN_SESSION (`80 70 00 00 43 1D 41 <EH> 00`): a fresh host ephemeral key; the card answers its
   * own fresh EC signed with its attestation key over card id || EH || EC. The signature is checked
   * under `certificate.attestationPublicKey` BEFORE anything is sent through the session, so this is
   * also a fresh attestation (the signature covers the host's new EH).
   * @param certificate the card's certificate, which the CALLER has already verified under a trusted
   *   root and matched to READ's card id (see attestation.ts `verifyCardCertificate`)
   * @returns the open session (also kept by this object for the wrapped commands).
   * @throws SessionKeyNotCertifiedError when the signature does not verify (not genuine);
   *   CardRefusedError (`6985` in FACTORY, `9A04`); MalformedResponseError (EC not a valid point...).
   */
  async openSession(certificate: Certificate, options: OpenSessionOptions = {}): Promise<CardSession> {
    this.closeSession();
    const offer = createSessionOffer(options.hostEphemeralSecret ?? this.#random?.(Size.PRIVATE_KEY));
    try {
      const payload = encodeProtocolTlvs([[Tag.SESSION_HOST_KEY, offer.hostEphemeralKey]]);
      const data = await this.#send('OPEN_SESSION', this.#cmd(Ins.OPEN_SESSION, payload, NE_MAX));
      const answer = this.#parse('OPEN_SESSION', data, [Tag.SESSION_CARD_KEY, Tag.SIGNATURE], (r) => ({
        cardEphemeralKey: validatePublicKey(r.required(Tag.SESSION_CARD_KEY, Size.PUBLIC_KEY), 'EC'),
        signature: signatureField(r, Tag.SIGNATURE, 'session signature'),
      }));
      this.#session = establishSession(certificate, offer, answer);
      return this.#session;
    } finally {
      offer.hostEphemeralSecret.fill(0);
    }
  }

  /** True while a session is open on this object (the card may still close it: see `#sendWrapped`). */
  get sessionOpen(): boolean {
    return this.#session?.open === true;
  }

  /** Wipes the session keys. The next wrapped command needs a new {@link openSession}. */
  closeSession(): void {
    this.#session?.close();
    this.#session = undefined;
  }

  /**
   * VERIFY_PIN (`84 20 00 00 Lc <wrapped PIN>`, wrapped): unlocks SIGN and the backup commands for
   * this session.
   * @param pin the access code, 4..16 bytes (the caller owns and wipes it)
   * @throws SessionClosedError with no session open (never sent plain); WrongPinError with
   *   `triesLeft`; PinBlockedError (`6983`, or the last try used up); CardRefusedError (`6985` in a
   *   state without an access code, `6988` the session failed and is closed); RangeError.
   */
  async verifyPin(pin: Uint8Array): Promise<void> {
    checkLength('PIN', pin, Size.PIN_MIN, Size.PIN_MAX);
    expectEmpty('VERIFY_PIN', await this.#sendWrapped('VERIFY_PIN', Ins.VERIFY_PIN, pin, 0));
  }

  /**
   * CREATE_WALLET (`84 30 00 00 Lc <wrapped PIN> 00`, wrapped): the card generates the wallet key
   * with its own RNG and sets the access code; BLANK -> WALLET.
   * @param pin the new access code, 4..16 bytes
   * @returns the wallet public key (65 bytes, validated).
   * @throws SessionClosedError; CardRefusedError (`6985` unless BLANK, `6988`); RangeError.
   */
  async createWallet(pin: Uint8Array): Promise<Uint8Array> {
    checkLength('PIN', pin, Size.PIN_MIN, Size.PIN_MAX);
    const data = await this.#sendWrapped('CREATE_WALLET', Ins.CREATE_WALLET, pin, NE_MAX);
    return this.#parse('CREATE_WALLET', data, [Tag.WALLET_PUBLIC_KEY], (r) =>
      validatePublicKey(r.required(Tag.WALLET_PUBLIC_KEY, Size.PUBLIC_KEY), 'wallet public key'),
    );
  }

  /**
   * SIGN (`84 32 00 00 Lc <wrapped digest> 00`, wrapped) with the wallet key. The answer is checked:
   * strict DER, normalised to low S, and verified over the digest under `walletPublicKey`.
   * @param digest the 32-byte hash to sign (the card signs it as given)
   * @param walletPublicKey the key the signature must verify under (READ's `walletPublicKey`)
   * @returns the low-S signature (DER and compact) and the card's new signature counter.
   * @throws SessionClosedError; CardRefusedError (`6982` access code not verified in this session,
   *   `6985` no wallet, `6988`); MalformedResponseError; CardSignatureError when it does not verify.
   * @example const { compact } = await card.sign(sha256(tx), info.walletPublicKey!);
   */
  async sign(digest: Uint8Array, walletPublicKey: Uint8Array): Promise<SignResult> {
    checkLength('digest', digest, Size.DIGEST);
    validatePublicKey(walletPublicKey, 'wallet public key');
    const data = await this.#sendWrapped('SIGN', Ins.SIGN, digest, NE_MAX);
    const { der, signCounter } = this.#parse('SIGN', data, [Tag.SIGNATURE, Tag.SIGN_COUNTER], (r) => ({
      der: signatureField(r, Tag.SIGNATURE, 'wallet signature'),
      signCounter: readUint32(r.required(Tag.SIGN_COUNTER, Size.SIGN_COUNTER)),
    }));
    const checked = checkWalletSignature(der, digest, walletPublicKey);
    if (checked === undefined) {
      throw new CardSignatureError('SIGN', 'the signature does not verify over the digest under the wallet public key');
    }
    return { ...checked, signCounter };
  }

  /**
   * CHANGE_ACCESS_CODE (`84 24 00 00 Lc <wrapped 1B LL old 1C LL new>`, wrapped): on THIS card only
   * (each clone keeps its own code). The current code is checked as VERIFY_PIN checks it (a try is
   * spent first); the session's verification is cleared afterwards: verify the new code to go on.
   * @throws SessionClosedError; WrongPinError; PinBlockedError; CardRefusedError (`6985`, `6988`);
   *   RangeError for a code that is not 4..16 bytes.
   */
  async changeAccessCode(currentCode: Uint8Array, newCode: Uint8Array): Promise<void> {
    checkLength('current access code', currentCode, Size.PIN_MIN, Size.PIN_MAX);
    checkLength('new access code', newCode, Size.PIN_MIN, Size.PIN_MAX);
    const payload = encodeProtocolTlvs([
      [Tag.ACCESS_CODE, currentCode],
      [Tag.NEW_ACCESS_CODE, newCode],
    ]);
    try {
      expectEmpty('CHANGE_ACCESS_CODE', await this.#sendWrapped('CHANGE_ACCESS_CODE', Ins.CHANGE_ACCESS_CODE, payload, 0));
    } finally {
      payload.fill(0);
    }
  }

  /**
   * RESET (`84 28 00 00 Lc <wrapped code>`, wrapped): erases the wallet (WALLET or BACKED_UP ->
   * BLANK); the card id, its certified keys and certificate stay. A primary in BACKUP_EXPORTING
   * refuses (`6985`): it finishes its backup first.
   * @throws SessionClosedError; WrongPinError; PinBlockedError; CardRefusedError (`6985`, `6988`).
   */
  async reset(code: Uint8Array): Promise<void> {
    checkLength('access code', code, Size.PIN_MIN, Size.PIN_MAX);
    expectEmpty('RESET', await this.#sendWrapped('RESET', Ins.RESET, code, 0));
  }

  /**
   * ATTEST (`80 40 00 00 Lc <challenge> 00`): the attestation key signs
   * `"TWINCARD:ATTEST1" || card id || challenge`. Use attestation.ts for a verdict.
   * @param challenge 16..32 fresh random bytes
   * @returns the DER signature (format checked, not verified).
   * @throws CardRefusedError (`6985` in FACTORY); MalformedResponseError; RangeError.
   */
  async attest(challenge: Uint8Array): Promise<Uint8Array> {
    checkLength('challenge', challenge, Size.CHALLENGE_MIN, Size.CHALLENGE_MAX);
    const data = await this.#send('ATTEST', this.#cmd(Ins.ATTEST, challenge, NE_MAX));
    return this.#parse('ATTEST', data, [Tag.SIGNATURE], (r) => signatureField(r, Tag.SIGNATURE, 'attestation signature'));
  }

  /**
   * BACKUP_PREPARE on a blank backup card (`80 60 00 00 00`): BLANK -> BACKUP_PENDING with a new
   * ephemeral pair (eB, EB); in BACKUP_PENDING the same EB again (a retried step; the signature is
   * made again and may differ).
   * @returns EB and the prepare signature (not verified here: the caller checks it with
   *   `prepareMessage` under the certified identity key).
   * @throws CardRefusedError (`6985` unless BLANK or BACKUP_PENDING); MalformedResponseError.
   */
  async backupPrepare(): Promise<PrepareOffer> {
    const data = await this.#send('BACKUP_PREPARE', this.#cmd(Ins.BACKUP_PREPARE, undefined, NE_MAX));
    return this.#parse('BACKUP_PREPARE', data, [Tag.BACKUP_EPHEMERAL_KEY, Tag.PREPARE_SIGNATURE], (r) => ({
      ephemeralKey: validatePublicKey(r.required(Tag.BACKUP_EPHEMERAL_KEY, Size.PUBLIC_KEY), 'EB'),
      signature: signatureField(r, Tag.PREPARE_SIGNATURE, 'prepare signature'),
    }));
  }

  /**
   * BACKUP_CANCEL on a backup card (`80 68 00 00 00`): BACKUP_PENDING -> BLANK, wiping eB, so no blob
   * sealed to the old EB can ever be imported; in BLANK it changes nothing (a retried step). Needs no
   * access code.
   * @throws CardRefusedError (`6985` unless BLANK or BACKUP_PENDING); MalformedResponseError.
   */
  async backupCancel(): Promise<void> {
    expectEmpty('BACKUP_CANCEL', await this.#send('BACKUP_CANCEL', this.#cmd(Ins.BACKUP_CANCEL, undefined, NE_MAX)));
  }

  /**
   * BACKUP_EXPORT on the primary (`84 62 00 00 Lc <wrapped data> 00`, wrapped, chained):
   * hands it a backup card's certificate, EB and prepare signature; the primary checks them itself,
   * records the backup card's id and answers a wallet blob sealed to EB. The record is committed
   * before the answer leaves the card: once this is sent, the primary counts the card whether or not
   * the answer arrives. The answer is secret-bearing (the blob): redacted from traces.
   * @returns EP, the seal signature (not verified here) and the 193-byte blob (size checked only).
   * @throws SessionClosedError; CardRefusedError (`9A01`, `9A03`, `9A04`, `9A08`, `9A09`, `6982`,
   *   `6985`, `6988`); MalformedResponseError.
   */
  async backupExport(backup: CertifiedPrepareOffer): Promise<SealedExport> {
    const payload = encodeProtocolTlvs([
      [Tag.CERTIFICATE, checkLength('certificate', backup.certificate, Size.CERTIFICATE_MIN, Size.CERTIFICATE_MAX)],
      [Tag.BACKUP_EPHEMERAL_KEY, checkLength('EB', backup.ephemeralKey, Size.PUBLIC_KEY)],
      [Tag.PREPARE_SIGNATURE, checkLength('prepare signature', backup.signature, Size.SIGNATURE_MIN, Size.SIGNATURE_MAX)],
    ]);
    const data = await this.#sendWrapped('BACKUP_EXPORT', Ins.BACKUP_EXPORT, payload, NE_MAX);
    const allowed = [Tag.PRIMARY_EPHEMERAL_KEY, Tag.SEAL_SIGNATURE, Tag.WALLET_BLOB];
    return this.#parse('BACKUP_EXPORT', data, allowed, (r) => ({
      ephemeralKey: validatePublicKey(r.required(Tag.PRIMARY_EPHEMERAL_KEY, Size.PUBLIC_KEY), 'EP'),
      signature: signatureField(r, Tag.SEAL_SIGNATURE, 'seal signature'),
      blob: r.required(Tag.WALLET_BLOB, Size.BLOB),
    }));
  }

  /**
   * BACKUP_FINALIZE on the primary (`84 64 00 00 Lc <wrapped, empty>`, wrapped): BACKUP_EXPORTING -> BACKED_UP, after which
   * the primary never exports again; answered the same when already finalized (a retried step).
   * Send it only once every blob the backup needs is saved.
   * @returns the number of backup cards (1 or 2), final.
   * @throws CardRefusedError (`6982`, `6985`); MalformedResponseError.
   */
  async backupFinalize(): Promise<number> {
    const data = await this.#sendWrapped('BACKUP_FINALIZE', Ins.BACKUP_FINALIZE, new Uint8Array(0), NE_MAX);
    return this.#parse('BACKUP_FINALIZE', data, [Tag.BACKUP_COUNT], (r) => backupCount('BACKUP_FINALIZE', r, 1));
  }

  /**
   * BACKUP_IMPORT on a backup card (`80 66 00 00 Lc <data> 00`, chained): hands it the primary's
   * certificate, EP, seal signature and blob; the card checks them against its own id and its own
   * current EB, then BACKUP_PENDING -> BACKED_UP. The same blob again is answered with
   * `alreadyImported` (a retried step). The data carries the blob: redacted from traces.
   * @returns the wallet public key the card now holds.
   * @throws CardRefusedError (`9A01`, `9A03`, `9A04`, `9A05`, `9A06`, `9A09`, `9A0A`, `6985`);
   *   MalformedResponseError.
   */
  async backupImport(primary: CertifiedSealedExport): Promise<ImportOutcome> {
    const payload = encodeProtocolTlvs([
      [Tag.CERTIFICATE, checkLength('certificate', primary.certificate, Size.CERTIFICATE_MIN, Size.CERTIFICATE_MAX)],
      [Tag.PRIMARY_EPHEMERAL_KEY, checkLength('EP', primary.ephemeralKey, Size.PUBLIC_KEY)],
      [Tag.SEAL_SIGNATURE, checkLength('seal signature', primary.signature, Size.SIGNATURE_MIN, Size.SIGNATURE_MAX)],
      [Tag.WALLET_BLOB, checkLength('wallet blob', primary.blob, Size.BLOB)],
    ]);
    const data = await this.#send('BACKUP_IMPORT', this.#cmd(Ins.BACKUP_IMPORT, payload, NE_MAX));
    return this.#parse('BACKUP_IMPORT', data, [Tag.WALLET_PUBLIC_KEY, Tag.IMPORT_RESULT], (r) => {
      const walletPublicKey = validatePublicKey(r.required(Tag.WALLET_PUBLIC_KEY, Size.PUBLIC_KEY), 'wallet public key');
      const result = r.required(Tag.IMPORT_RESULT, 1)[0] as number;
      if (result !== ImportResult.IMPORTED && result !== ImportResult.ALREADY_IMPORTED) {
        throw new MalformedResponseError('BACKUP_IMPORT', `IMPORT_RESULT ${result} is neither 00 nor 01`);
      }
      return { walletPublicKey, alreadyImported: result === ImportResult.ALREADY_IMPORTED };
    });
  }

  /**
   * PERSO_GENERATE (`80 F0 00 00 08 <card id> 00`), factory only: stores the id and generates the
   * identity and attestation key pairs (a repeated call replaces all three).
   * @returns both public keys (validated: they come from the card before anything certifies them).
   * @throws CardRefusedError (`6985` once personalized); MalformedResponseError.
   */
  async persoGenerate(cardId: Uint8Array): Promise<GeneratedKeys> {
    checkLength('card id', cardId, Size.CARD_ID);
    const data = await this.#send('PERSO_GENERATE', this.#cmd(Ins.PERSO_GENERATE, cardId, NE_MAX));
    return this.#parse('PERSO_GENERATE', data, [Tag.IDENTITY_PUBLIC_KEY, Tag.ATTESTATION_PUBLIC_KEY], (r) => ({
      identityPublicKey: validatePublicKey(r.required(Tag.IDENTITY_PUBLIC_KEY, Size.PUBLIC_KEY), 'identity public key'),
      attestationPublicKey: validatePublicKey(r.required(Tag.ATTESTATION_PUBLIC_KEY, Size.PUBLIC_KEY), 'attestation public key'),
    }));
  }

  /**
   * PERSO_COMMIT (`80 F2 00 00 Lc 0B LL <signature>`), factory only: the card checks the
   * manufacturer's signature under the root it was INSTALLED with, over its own id and both public
   * keys, stores the certificate and moves to BLANK.
   * @throws CardRefusedError (`9A01` another manufacturer or another message, `6985`).
   */
  async persoCommit(signature: Uint8Array): Promise<void> {
    const payload = encodeProtocolTlvs([[Tag.SIGNATURE, checkLength('signature', signature, Size.SIGNATURE_MIN, Size.SIGNATURE_MAX)]]);
    const data = await this.#send('PERSO_COMMIT', this.#cmd(Ins.PERSO_COMMIT, payload));
    expectEmpty('PERSO_COMMIT', data);
  }

  // -------------------------------------------------------------------------------------------

  #cmd(ins: number, data?: Uint8Array, ne = 0): CommandApdu {
    return command(CLA_PROPRIETARY, ins, 0x00, 0x00, data, ne);
  }

  /**
   * Wraps `payload` in the open session (CLA 84, the next counter, a fresh IV) and sends it. Never
   * falls back to a plain send. A `6988` answer means the card closed the session: so does the host.
   */
  async #sendWrapped(name: CommandName, ins: number, payload: Uint8Array, ne: number): Promise<Uint8Array> {
    const session = this.#session;
    if (session === undefined || !session.open) throw new SessionClosedError(`${name}: ${new SessionClosedError().message}`);
    const iv = this.#random?.(Size.SESSION_IV);
    const wrapped =
      iv === undefined ? session.wrap({ ins, p1: 0x00, p2: 0x00 }, payload) : session.wrap({ ins, p1: 0x00, p2: 0x00 }, payload, iv);
    const cmd = command(CLA_WRAPPED, ins, 0x00, 0x00, wrapped, ne);
    try {
      return await this.#send(name, cmd);
    } catch (e) {
      if (e instanceof CardRefusedError && e.sw === IsoSw.SESSION_FAILED) this.closeSession();
      else if (e instanceof CardRefusedError && BEFORE_SESSION_CHECK.has(e.sw)) session.counterNotReached();
      throw e;
    } finally {
      wrapped.fill(0);
      cmd.data.fill(0);
    }
  }

  /** Sends; 9000 gives the data, anything else the typed error for that word. */
  async #send(name: CommandName, cmd: CommandApdu): Promise<Uint8Array> {
    const { data, sw } = await this.#channel.send(cmd);
    if (sw === SW_OK) return data;
    if (sw === IsoSw.PIN_BLOCKED) throw new PinBlockedError(name, sw);
    if ((sw & 0xfff0) === 0x63c0) {
      if ((sw & 0x0f) === 0) throw new PinBlockedError(name, sw);
      throw new WrongPinError(name, sw);
    }
    throw new CardRefusedError(name, sw, data);
  }

  /** Reads the answer as the TLVs `allowed` in that order, then `read` them; any fault is the card's. */
  #parse<T>(name: CommandName, data: Uint8Array, allowed: readonly number[], read: (r: TlvRecord) => T): T {
    try {
      return read(TlvRecord.parse(data, { allowed, what: `${name} response`, ordered: true }));
    } catch (e) {
      if (e instanceof MalformedResponseError) throw e; // UnsupportedVersionError included
      if (e instanceof TlvError || e instanceof InvalidPointError || e instanceof SignatureFormatError) {
        throw new MalformedResponseError(name, e.message.replace(`${name} response: `, ''), { cause: e });
      }
      throw e;
    }
  }
}

function checkVersion(name: CommandName, value: Uint8Array): number {
  const version = value[0] as number;
  if (version !== PROTOCOL_VERSION) throw new UnsupportedVersionError(name, version);
  return version;
}

/**
 * SELECT and READ start with `01 01 <version>` in every version: read the version before the rest,
 * so that a card of another version is named as such, not as a malformed answer of this one.
 */
function checkVersionFirst(name: CommandName, data: Uint8Array): void {
  if (data.length >= 3 && data[0] === Tag.VERSION && data[1] === 1) checkVersion(name, data.subarray(2, 3));
}

/** BACKUP_CARD_IDS: present exactly when `count` > 0, `count` distinct 8-byte ids, none the card's own. */
function readBackupCardIds(r: TlvRecord, count: number, cardId: Uint8Array | undefined): Uint8Array[] {
  const value = r.optional(Tag.BACKUP_CARD_IDS);
  if (value === undefined) {
    if (count > 0) throw new MalformedResponseError('READ', `BACKUP_CARD_IDS missing with BACKUP_COUNT ${count}`);
    return [];
  }
  if (count === 0) throw new MalformedResponseError('READ', 'BACKUP_CARD_IDS present with BACKUP_COUNT 0');
  if (value.length !== count * Size.CARD_ID) {
    throw new MalformedResponseError(
      'READ',
      `BACKUP_CARD_IDS is ${value.length} bytes, expected ${count * Size.CARD_ID} (${count} x ${Size.CARD_ID}) for BACKUP_COUNT ${count}`,
    );
  }
  const ids: Uint8Array[] = [];
  for (let offset = 0; offset < value.length; offset += Size.CARD_ID) {
    const id = value.slice(offset, offset + Size.CARD_ID);
    if (cardId !== undefined && equalBytes(id, cardId)) throw new MalformedResponseError('READ', "BACKUP_CARD_IDS names the card's own id");
    if (ids.some((known) => equalBytes(known, id))) throw new MalformedResponseError('READ', 'BACKUP_CARD_IDS names the same card twice');
    ids.push(id);
  }
  return ids;
}

function checkState(name: CommandName, value: Uint8Array): CardStateName {
  const state = cardStateName(value[0] as number);
  if (state === undefined) throw new MalformedResponseError(name, `unknown card state ${hex2(value[0] as number)}`);
  return state;
}

function checkOrigin(origin: number, state: CardStateName): WalletOriginName {
  if (origin === WalletOrigin.CREATED) return 'created';
  if (origin === WalletOrigin.IMPORTED) {
    // Only a backup card imports, and an imported wallet is BACKED_UP at once.
    if (state !== 'BACKED_UP') throw new MalformedResponseError('READ', `WALLET_ORIGIN 02 (imported) in state ${state}`);
    return 'imported';
  }
  throw new MalformedResponseError('READ', `unknown WALLET_ORIGIN ${hex2(origin)}`);
}

function signatureField(r: TlvRecord, tag: number, what: string): Uint8Array {
  const der = r.required(tag, { min: Size.SIGNATURE_MIN, max: Size.SIGNATURE_MAX });
  parseDerSignature(der, what);
  return der;
}

function backupCount(name: CommandName, r: TlvRecord, min: number): number {
  const count = r.required(Tag.BACKUP_COUNT, 1)[0] as number;
  if (count < min || count > Size.MAX_BACKUPS) {
    throw new MalformedResponseError(name, `BACKUP_COUNT is ${count}, expected ${min}..${Size.MAX_BACKUPS}`);
  }
  return count;
}

function expectEmpty(name: CommandName, data: Uint8Array): void {
  if (data.length !== 0) throw new MalformedResponseError(name, `expected no data, got ${data.length} bytes`);
}

function readUint32(bytes: Uint8Array): number {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(0, false);
}

function hex2(b: number): string {
  return '0x' + b.toString(16).toUpperCase().padStart(2, '0');
}

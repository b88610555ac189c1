// jsroot ships no usable types for its io module; these declare only what lib/root uses.
declare module 'jsroot/io' {
  export class FileProxy {
    openFile(): Promise<boolean>;
    getFileName(): string;
    getFileSize(): number;
    readBuffer(pos: number, len: number): Promise<DataView | null>;
    readBuffers?(place: number[]): Promise<DataView[]>;
    closeFile(): void;
  }
  export interface JsrootKey {
    fName: string;
    fClassName: string;
    fCycle: number;
    fSeekKey: number;
    fNbytes: number;
    fObjlen: number;
    fKeylen: number;
  }
  export interface JsrootFile {
    fVersion: number;
    fEND: number;
    fCompress: number;
    fKeys: JsrootKey[];
    readObject(name: string, cycle?: number): Promise<unknown>;
    readDirectory?(name: string): Promise<unknown>;
    close(): void;
  }
  export function openFile(arg: string | FileProxy | ArrayBuffer): Promise<JsrootFile>;
}

declare module 'jsroot/rntuple' {
  export function rntupleProcess(tuple: unknown, selector: unknown, args?: unknown): Promise<unknown>;
  export function readHeaderFooter(tuple: unknown): Promise<boolean>;
}

// Original file: proto/provider/v1alpha1/service.proto


export interface File {
  'path'?: (string);
  'mode'?: (number);
  'contents'?: (Buffer | Uint8Array | string);
}

export interface File__Output {
  'path': (string);
  'mode': (number);
  'contents': (Buffer);
}

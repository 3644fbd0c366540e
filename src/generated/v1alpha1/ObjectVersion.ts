// Original file: proto/provider/v1alpha1/service.proto


export interface ObjectVersion {
  'id'?: (string);
  'version'?: (string);
}

export interface ObjectVersion__Output {
  'id': (string);
  'version': (string);
}

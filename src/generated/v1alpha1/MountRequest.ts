// Original file: proto/provider/v1alpha1/service.proto

import type { ObjectVersion as _v1alpha1_ObjectVersion, ObjectVersion__Output as _v1alpha1_ObjectVersion__Output } from '../v1alpha1/ObjectVersion';

export interface MountRequest {
  'attributes'?: (string);
  'secrets'?: (string);
  'target_path'?: (string);
  'permission'?: (string);
  'current_object_version'?: (_v1alpha1_ObjectVersion)[];
}

export interface MountRequest__Output {
  'attributes': (string);
  'secrets': (string);
  'target_path': (string);
  'permission': (string);
  'current_object_version': (_v1alpha1_ObjectVersion__Output)[];
}
